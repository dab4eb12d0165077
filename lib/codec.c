/* codec.c: hex, URL percent-decoding and base64 decoding. */
#include "codec.h"

#include <errno.h>
#include <stdint.h>

int codec_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t codec_url_decode(const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = in[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && codec_hexval(in[i + 1]) >= 0 && codec_hexval(in[i + 2]) >= 0) {
			c = (char)(codec_hexval(in[i + 1]) * 16 + codec_hexval(in[i + 2]));
			i += 2;
		}
		out[o++] = c;
	}
	return o;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int codec_base64_decode(const char *in, size_t n, struct buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0, pad = 0, digits = 0;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64val(c)) < 0)
			return -EINVAL;
		digits++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out && (rc = buf_putc(out, (char)((acc >> bits) & 0xff))) < 0)
				return rc;
		}
	}
	/* One lone digit after full groups, or more than two '=', is not base64. */
	if (pad > 2 || digits % 4 == 1)
		return -EINVAL;
	return 0;
}

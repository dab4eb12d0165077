/* codec.h: small text codecs shared by parsers: hex digits, URL percent-decoding, base64. */
#ifndef VIVO_CODEC_H
#define VIVO_CODEC_H

#include <stddef.h>

#include "buf.h"

/* Value of a hex digit (either case), or -1. */
int codec_hexval(char c);
/* Decode %XX escapes and '+' (as a space) of in[0..n) into out, which has room for n
 * bytes; a '%' not followed by two hex digits stays as it is. Returns the length. */
size_t codec_url_decode(const char *in, size_t n, char *out);
/* Decode base64 (standard or URL alphabet, padding optional, whitespace ignored),
 * appending the bytes to `out` when it is not NULL (NULL: only validate).
 * 0, -EINVAL for text that is not base64, or the buffer's error. */
int codec_base64_decode(const char *in, size_t n, struct buf *out);

#endif

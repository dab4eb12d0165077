/* exporter_body.c: the exporter's response bodies: legacy text as stored, v1 and envelope
 * rendered chunk by chunk, optionally through a streaming gzip, in blocks sized to the body
 * (a small answer to a long-poll does not pin a large buffer). */
#include "exporter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* Response blocks: the body's size rounded up to a power of two within these bounds. A
 * long-poll answered by one record gets 4 KB; a full read of a 20 MB stream 256 KB. */
#define BLOCK_MIN 4096
#define BLOCK_MAX (256 * 1024)
/* v1 and envelope renderings add members per chunk: allow for them in the estimate. */
#define RENDER_EXTRA 512

/* Streams the chunks of a view: legacy text as is, or v1 rendered chunk by chunk,
 * optionally through gzip. Holds chunk references, never the stream lock. */
struct body {
	struct stream_view view;
	size_t ci;            /* next chunk */
	size_t off;           /* offset in the current piece */
	enum body_mode mode;
	struct buf piece;     /* v1 rendering of the current chunk */
	bool have_piece;
	bool gzip;
	z_stream z;
	bool z_init;
	bool z_done;
	char *zin;            /* gzip input staging, `block` bytes */
	size_t block;
};

static void body_free(void *cls)
{
	struct body *b = cls;

	stream_view_release(&b->view);
	buf_free(&b->piece);
	if (b->z_init)
		deflateEnd(&b->z);
	free(b->zin);
	free(b);
}

/* Copy up to `max` plain bytes. Returns bytes copied (0 at the end) or -1. */
static ssize_t body_plain(struct body *b, char *out, size_t max)
{
	size_t done = 0;

	while (done < max && b->ci < b->view.count) {
		const char *src;
		size_t len, n;

		if (b->mode != BODY_LEGACY) {
			if (!b->have_piece) {
				const struct chunk *c = b->view.chunks[b->ci];

				buf_reset(&b->piece);
				if ((b->mode == BODY_V1 ? chunk_write_v1(c, &b->piece) : chunk_write_envelope(c, &b->piece)) < 0)
					return -1;
				b->have_piece = true;
				b->off = 0;
			}
			src = b->piece.data;
			len = b->piece.len;
		} else {
			src = chunk_text(b->view.chunks[b->ci], &len);
		}
		n = len - b->off < max - done ? len - b->off : max - done;
		memcpy(out + done, src + b->off, n);
		done += n;
		b->off += n;
		if (b->off == len) {
			b->ci++;
			b->off = 0;
			b->have_piece = false;
		}
	}
	return (ssize_t)done;
}

static ssize_t body_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct body *b = cls;
	ssize_t n;

	if (!b->gzip) {
		n = body_plain(b, out, max);
		if (n < 0)
			return HTTPD_READER_ERROR;
		return n == 0 ? HTTPD_READER_END : n;
	}
	if (b->z_done)
		return HTTPD_READER_END;
	b->z.next_out = (Bytef *)out;
	b->z.avail_out = (uInt)max;
	while (b->z.avail_out > 0 && !b->z_done) {
		int flush = Z_NO_FLUSH, rc;

		if (b->z.avail_in == 0) {
			n = body_plain(b, b->zin, b->block);
			if (n < 0)
				return HTTPD_READER_ERROR;
			b->z.next_in = (Bytef *)b->zin;
			b->z.avail_in = (uInt)n;
			if (n == 0)
				flush = Z_FINISH;
		}
		if (b->ci >= b->view.count && b->z.avail_in == 0)
			flush = Z_FINISH;
		rc = deflate(&b->z, flush);
		if (rc == Z_STREAM_END)
			b->z_done = true;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return HTTPD_READER_ERROR;
		if (flush != Z_FINISH && b->z.avail_in == 0 && b->z.avail_out > 0 && (size_t)b->z.avail_out < max)
			break; /* send what we have rather than wait for more input */
	}
	n = (ssize_t)(max - b->z.avail_out);
	if (n == 0 && b->z_done)
		return HTTPD_READER_END;
	return n;
}

/* True when Accept-Encoding lists gzip (or x-gzip) without refusing it with q=0. */
static bool accepts_gzip(struct httpd_req *r)
{
	const char *ae = httpd_header(r, "Accept-Encoding");

	while (ae && *ae) {
		size_t n = strcspn(ae, ",");
		const char *tok = ae, *semi = memchr(ae, ';', n);
		size_t tl = semi ? (size_t)(semi - tok) : n;

		while (tl && (*tok == ' ' || *tok == '\t'))
			tok++, tl--;
		while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
			tl--;
		if ((tl == 4 && strncasecmp(tok, "gzip", 4) == 0) || (tl == 6 && strncasecmp(tok, "x-gzip", 6) == 0)) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			/* q=0, q=0.0, q=0.000: refused; anything else: accepted. */
			if (!q || q > ae + n || strtod(q + 2, NULL) > 0)
				return true;
		}
		ae += n;
		if (*ae == ',')
			ae++;
	}
	return false;
}

/* The body's size (exact for legacy text, estimated for the renderings) as a block size. */
static size_t block_for(const struct stream_view *v, enum body_mode mode, uint64_t *total)
{
	size_t i, len, block = BLOCK_MIN;
	uint64_t sum = 0;

	for (i = 0; i < v->count; i++) {
		chunk_text(v->chunks[i], &len);
		sum += len + (mode == BODY_LEGACY ? 0 : RENDER_EXTRA);
	}
	*total = sum;
	while (block < BLOCK_MAX && block < sum)
		block *= 2;
	return block;
}

enum MHD_Result exporter_reply_view(struct httpd_req *r, struct stream_view *v, enum body_mode mode,
				    const char *boot_id, const char *cors)
{
	struct httpd_resp *resp;
	char id[24];
	bool gzip = v->count > 0 && accepts_gzip(r);
	uint64_t next = v->next_id, first = v->first_id, last = v->last_id;
	size_t count = v->count;

	if (count == 0) {
		resp = httpd_resp_buffer("", 0, false);
		stream_view_release(v);
	} else {
		struct body *b = calloc(1, sizeof(*b));
		uint64_t total = HTTPD_SIZE_UNKNOWN, sum;

		if (!b) {
			stream_view_release(v);
			return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		}
		b->view = *v;
		memset(v, 0, sizeof(*v));
		b->mode = mode;
		b->gzip = gzip;
		b->block = block_for(&b->view, mode, &sum);
		buf_init(&b->piece, SIZE_MAX);
		if (gzip) {
			/* windowBits 15 + 16: a gzip wrapper, not zlib's. */
			if (!(b->zin = malloc(b->block)) ||
			    deflateInit2(&b->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
				body_free(b);
				return httpd_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "gzip init failed");
			}
			b->z_init = true;
		} else if (mode == BODY_LEGACY) {
			total = sum;
		}
		resp = httpd_resp_reader(total, b->block, body_read, b, body_free);
		if (!resp)
			return MHD_NO;
	}
	if (!resp)
		return MHD_NO;
	httpd_resp_header(resp, "Content-Type", "application/json");
	if (count > 0) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)first);
		httpd_resp_header(resp, "Vivo-Stream-Start-ID", id);
		snprintf(id, sizeof(id), "%llu", (unsigned long long)last);
		httpd_resp_header(resp, "Vivo-Stream-End-ID", id);
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)next);
	httpd_resp_header(resp, "Vivo-Stream-Next-ID", id);
	/* IDs count from 0 again in a new process: a follower tells them apart by this. */
	httpd_resp_header(resp, "Vivo-Boot-ID", boot_id);
	if (gzip)
		httpd_resp_header(resp, "Content-Encoding", "gzip");
	/* /vivo/... on the UI port is negotiated on Accept (page or stream): say so to caches. */
	httpd_resp_header(resp, "Vary", strncmp(r->path, "/vivo/", 6) == 0 ? "Accept, Accept-Encoding" : "Accept-Encoding");
	httpd_resp_header(resp, "Cache-Control", "no-store");
	httpd_add_cors(resp, cors);
	return httpd_queue(r, MHD_HTTP_OK, resp);
}


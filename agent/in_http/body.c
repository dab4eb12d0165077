/* in_http/body.c: HTTP input body decoders; each request becomes one all-or-nothing chunk. */
#include "body.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "jsonmp.h"
#include "loggroup.h"
#include "mp.h"
#include "mpjson.h"
#include "mpk.h"

#define SCRATCH_MAX (256u * 1024 * 1024)

int http_parse_rfc3339(const char *s, size_t n, int64_t *ns)
{
	int f[6] = { 0 }, widths[6] = { 4, 2, 2, 2, 2, 2 }, k, w;
	const char seps[6] = { '-', '-', 'T', ':', ':', 0 };
	size_t i = 0;
	int64_t frac = 0, scale = 1000000000, days, secs;
	int y, m, off = 0;

	for (k = 0; k < 6; k++) {
		for (w = 0; w < widths[k]; w++, i++) {
			if (i >= n || !isdigit((unsigned char)s[i]))
				return -EINVAL;
			f[k] = f[k] * 10 + (s[i] - '0');
		}
		if (seps[k]) {
			if (i >= n || (s[i] != seps[k] && !(k == 2 && (s[i] == 't' || s[i] == ' '))))
				return -EINVAL;
			i++;
		}
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !isdigit((unsigned char)s[i]))
			return -EINVAL;
		while (i < n && isdigit((unsigned char)s[i])) {
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
			i++;
		}
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && isdigit((unsigned char)s[i + 1]) &&
		   isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':' && isdigit((unsigned char)s[i + 4]) &&
		   isdigit((unsigned char)s[i + 5])) {
		off = ((s[i + 1] - '0') * 10 + (s[i + 2] - '0')) * 3600 + ((s[i + 4] - '0') * 10 + (s[i + 5] - '0')) * 60;
		if (s[i] == '-')
			off = -off;
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != n || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
		return -EINVAL;
	/* Days from civil (Howard Hinnant's algorithm). */
	y = f[0] - (f[1] <= 2);
	m = f[1];
	{
		int era = (y >= 0 ? y : y - 399) / 400;
		unsigned yoe = (unsigned)(y - era * 400);
		unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + f[2] - 1);
		unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = (int64_t)era * 146097 + (int64_t)doe - 719468;
	}
	secs = days * 86400 + f[3] * 3600 + f[4] * 60 + f[5] - off;
	*ns = secs * 1000000000 + frac;
	return 0;
}

/* The time of a record from its `time_key` field, if present and usable. */
static bool record_time(const char *map, size_t n, const char *key, int64_t *ns)
{
	struct mp_cur c;
	struct mp_obj o, k, v;
	uint32_t i;

	mp_cur_init(&c, map, n);
	if (!key || mp_read(&c, &o) < 0 || o.type != MP_MAP)
		return false;
	for (i = 0; i < o.len; i++) {
		if (mp_read(&c, &k) < 0)
			return false;
		if (!mp_str_eq(&k, key)) {
			if (mp_skip(&c) < 0)
				return false;
			continue;
		}
		if (mp_read(&c, &v) < 0)
			return false;
		if (v.type == MP_STR)
			return http_parse_rfc3339(v.ptr, v.len, ns) == 0;
		return mp_time_ns(&v, ns) == 0;
	}
	return false;
}

static int add_record(struct chunk_builder *cb, const char *map, size_t n, int64_t now_ns,
		      const char *time_key, char *err, size_t errlen)
{
	struct mp_cur c;
	int64_t ts = now_ns;
	int rc;

	record_time(map, n, time_key, &ts);
	mp_cur_init(&c, map, n);
	rc = chunk_add_log(cb, ts, NULL, &c);
	if (rc == MP_EBAD || rc == MP_ETRUNC) {
		snprintf(err, errlen, "record %u cannot be stored (nested deeper than %d levels, or malformed)",
			 cb->records + 1, MPJSON_MAX_DEPTH);
		rc = -EINVAL;
	}
	return rc;
}

static int decode_json(const char *body, size_t n, int64_t now_ns, const char *time_key,
		       struct chunk_builder *cb, char *err, size_t errlen, bool lines)
{
	struct buf mp;
	size_t off = 0, value = 0;
	char perr[128];
	int rc = 0;

	buf_init(&mp, SCRATCH_MAX);
	for (;; value++) {
		struct mp_cur c;
		struct mp_obj o;

		buf_reset(&mp);
		rc = jsonmp_next(body, n, &off, &mp, perr, sizeof(perr));
		if (rc == 1) {
			rc = value ? 0 : -EINVAL;
			if (rc)
				snprintf(err, errlen, "empty body: no JSON record");
			break;
		}
		if (rc == -EINVAL) {
			if (lines)
				snprintf(err, errlen, "invalid JSON in line %zu: %s", value + 1, perr);
			else
				snprintf(err, errlen, "invalid JSON: %s", perr);
			break;
		}
		if (rc < 0)
			break;
		mp_cur_init(&c, mp.data, mp.len);
		if (mp_read(&c, &o) < 0) {
			rc = -EINVAL;
			break;
		}
		if (o.type == MP_MAP) {
			if ((rc = add_record(cb, mp.data, mp.len, now_ns, time_key, err, errlen)) < 0)
				break;
		} else if (o.type == MP_ARRAY && !lines) {
			uint32_t i;

			for (i = 0; i < o.len && rc == 0; i++) {
				const char *start = c.p;
				struct mp_obj e;
				struct mp_cur ec = c;

				if (mp_read(&ec, &e) < 0 || e.type != MP_MAP) {
					snprintf(err, errlen, "array element %u is not a JSON object", i);
					rc = -EINVAL;
					break;
				}
				if ((rc = mp_skip(&c)) < 0)
					break;
				rc = add_record(cb, start, (size_t)(c.p - start), now_ns, time_key, err, errlen);
			}
			if (rc == 0 && o.len == 0) {
				snprintf(err, errlen, "empty JSON array: no record");
				rc = -EINVAL;
			}
			if (rc < 0)
				break;
		} else {
			if (lines)
				snprintf(err, errlen, "line %zu is not a JSON object", value + 1);
			else
				snprintf(err, errlen, "JSON value %zu is not an object or an array of objects", value + 1);
			rc = -EINVAL;
			break;
		}
	}
	buf_free(&mp);
	return rc;
}

static int form_decode(msgpack_packer *pk, const char *p, size_t n)
{
	struct buf *b = mpk_buf(pk);
	size_t at, start;
	int rc;

	if ((rc = mpk_str32(pk, &at)) < 0 || (rc = buf_reserve(b, n)) < 0)
		return rc;
	start = b->len;
	b->len += codec_url_decode(p, n, b->data + b->len);
	mpk_patch32(pk, at, (uint32_t)(b->len - start));
	return 0;
}

static int decode_form(const char *body, size_t n, int64_t now_ns, const char *time_key,
		       struct chunk_builder *cb, char *err, size_t errlen)
{
	msgpack_packer pk;
	struct buf mp;
	size_t at, i = 0;
	uint32_t pairs = 0;
	int rc;

	buf_init(&mp, SCRATCH_MAX);
	mpk_init(&pk, &mp);
	if ((rc = mpk_map32(&pk, &at)) < 0)
		goto out;
	while (i < n) {
		const char *pair = body + i, *amp = memchr(pair, '&', n - i), *eq;
		size_t plen = amp ? (size_t)(amp - pair) : n - i;

		i += plen + 1;
		while (plen && (pair[plen - 1] == '\n' || pair[plen - 1] == '\r'))
			plen--;
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		if (!eq || eq == pair) {
			snprintf(err, errlen, "form field %u is not key=value", pairs + 1);
			rc = -EINVAL;
			goto out;
		}
		if ((rc = form_decode(&pk, pair, (size_t)(eq - pair))) < 0 ||
		    (rc = form_decode(&pk, eq + 1, plen - (size_t)(eq - pair) - 1)) < 0)
			goto out;
		pairs++;
	}
	if (pairs == 0) {
		snprintf(err, errlen, "empty body: no form field");
		rc = -EINVAL;
		goto out;
	}
	mpk_patch32(&pk, at, pairs);
	rc = add_record(cb, mp.data, mp.len, now_ns, time_key, err, errlen);
out:
	buf_free(&mp);
	return rc;
}

/* One [time, record] or [[time, metadata], record] entry at e (its array header read).
 * Group markers are taken by `g`; the records between them get the group's resource
 * and scope in their metadata. 0, 1 when the entry is not of that shape, or an error. */
static int msgpack_entry(struct mp_cur e, struct log_group *g, struct chunk_builder *cb)
{
	struct mp_cur meta, body_c, merged, *mp = NULL;
	struct mp_obj t, b;
	int64_t ts;
	int rc;

	if (mp_read(&e, &t) < 0)
		return 1;
	if (t.type == MP_ARRAY && t.len == 2) {
		if (mp_read(&e, &t) < 0 || mp_time_ns(&t, &ts) < 0)
			return 1;
		meta = e;
		if (mp_read(&e, &b) < 0 || b.type != MP_MAP)
			return 1;
		e = meta;
		if (mp_skip(&e) < 0)
			return 1;
		mp = &meta;
	} else if (mp_time_ns(&t, &ts) < 0) {
		return 1;
	}
	body_c = e;
	if (mp_read(&e, &b) < 0 || b.type != MP_MAP)
		return 1;
	if (log_group_take(g, ts, body_c))
		return 0;
	if ((rc = log_group_meta(g, mp, &merged, &mp)) < 0)
		return rc;
	return chunk_add_log(cb, ts, mp, &body_c);
}

/* msgpack bodies: concatenated maps, or entries [[time, meta], record] / [time, record]
 * (Fluent Bit's http output with format msgpack, OTLP group markers included). */
static int decode_msgpack(const char *body, size_t n, int64_t now_ns, const char *time_key,
			  struct chunk_builder *cb, char *err, size_t errlen)
{
	struct log_group g;
	struct mp_cur c;
	size_t idx = 0;
	int rc = 0;

	mp_cur_init(&c, body, n);
	if (n == 0) {
		snprintf(err, errlen, "empty body: no msgpack record");
		return -EINVAL;
	}
	log_group_init(&g, n + 65536);
	for (; mp_cur_left(&c) > 0 && rc == 0; idx++) {
		const char *start = c.p;
		struct mp_cur e = c;
		struct mp_obj o;

		if ((rc = mp_skip(&c)) < 0) {
			snprintf(err, errlen, "msgpack object %zu is %s", idx + 1,
				 rc == MP_ETRUNC ? "truncated" : "invalid");
			rc = -EINVAL;
			break;
		}
		mp_read(&e, &o);
		if (o.type == MP_MAP)
			rc = add_record(cb, start, (size_t)(c.p - start), now_ns, time_key, err, errlen);
		else if (o.type == MP_ARRAY && o.len == 2)
			rc = msgpack_entry(e, &g, cb);
		else
			rc = 1;
		if (rc == 1) {
			snprintf(err, errlen, "msgpack object %zu is not a map or a [time, record] entry", idx + 1);
			rc = -EINVAL;
		} else if (rc == MP_EBAD || rc == MP_ETRUNC) {
			snprintf(err, errlen, "msgpack object %zu cannot be rendered", idx + 1);
			rc = -EINVAL;
		}
	}
	log_group_free(&g);
	return rc;
}

/* Compare the media type of a Content-Type value, ignoring parameters and case. */
static bool media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	while (*ctype == ' ')
		ctype++;
	if (strncasecmp(ctype, want, n) != 0)
		return false;
	ctype += n;
	while (*ctype == ' ')
		ctype++;
	return *ctype == '\0' || *ctype == ';';
}

int http_body_decode(const char *ctype, const char *body, size_t n, int64_t now_ns,
		     const char *time_key, struct chunk_builder *cb, char *err, size_t errlen)
{
	if (!ctype || !*ctype) {
		snprintf(err, errlen, "missing Content-Type: use application/json, application/x-ndjson, "
			 "application/x-www-form-urlencoded or application/msgpack");
		return -EPROTO;
	}
	if (media_is(ctype, "application/json"))
		return decode_json(body, n, now_ns, time_key, cb, err, errlen, false);
	if (media_is(ctype, "application/x-ndjson") || media_is(ctype, "application/jsonlines") ||
	    media_is(ctype, "application/json-lines") || media_is(ctype, "application/x-jsonlines"))
		return decode_json(body, n, now_ns, time_key, cb, err, errlen, true);
	if (media_is(ctype, "application/x-www-form-urlencoded"))
		return decode_form(body, n, now_ns, time_key, cb, err, errlen);
	if (media_is(ctype, "application/msgpack") || media_is(ctype, "application/x-msgpack"))
		return decode_msgpack(body, n, now_ns, time_key, cb, err, errlen);
	snprintf(err, errlen, "unsupported Content-Type '%.80s': use application/json, application/x-ndjson, "
		 "application/x-www-form-urlencoded or application/msgpack", ctype);
	return -EPROTO;
}

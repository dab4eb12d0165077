/* watchstream.c: splitting a watch body into JSON objects across chunk boundaries, and decoding watch events. */
#include "watchstream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WSTREAM_MAX_DEPTH 512
#define NO_START ((size_t)-1)

void wstream_init(struct wstream *ws, size_t max_event)
{
	memset(ws, 0, sizeof(*ws));
	buf_init(&ws->b, max_event);
	ws->start = NO_START;
}

void wstream_free(struct wstream *ws)
{
	buf_free(&ws->b);
	ws->scan = 0;
	ws->start = NO_START;
	ws->depth = 0;
	ws->in_str = ws->esc = false;
}

void wstream_reset(struct wstream *ws)
{
	buf_reset(&ws->b);
	ws->scan = 0;
	ws->start = NO_START;
	ws->depth = 0;
	ws->in_str = ws->esc = false;
}

bool wstream_idle(const struct wstream *ws)
{
	return ws->start == NO_START;
}

/* Scan b[scan..len): emit complete objects, return how many leading bytes are consumed. */
static int scan(struct wstream *ws, wstream_cb cb, void *ctx, size_t *consumed)
{
	char *d = ws->b.data;
	size_t i, len = ws->b.len;
	int rc;

	*consumed = 0;
	for (i = ws->scan; i < len; i++) {
		char c = d[i];

		if (ws->start == NO_START) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
				*consumed = i + 1;
				continue;
			}
			if (c != '{')
				return -EPROTO;
			ws->start = i;
			ws->depth = 1;
			continue;
		}
		if (ws->in_str) {
			if (ws->esc)
				ws->esc = false;
			else if (c == '\\')
				ws->esc = true;
			else if (c == '"')
				ws->in_str = false;
			continue;
		}
		if (c == '"') {
			ws->in_str = true;
		} else if (c == '{' || c == '[') {
			if (++ws->depth > WSTREAM_MAX_DEPTH)
				return -EPROTO;
		} else if (c == '}' || c == ']') {
			if (--ws->depth == 0) {
				size_t s = ws->start;

				ws->start = NO_START;
				*consumed = i + 1;
				ws->scan = i + 1;
				if ((rc = cb(ctx, d + s, i + 1 - s)) != 0)
					return rc;
			} else if (ws->depth < 0) {
				return -EPROTO;
			}
		}
	}
	ws->scan = len;
	return 0;
}

int wstream_feed(struct wstream *ws, const char *data, size_t n, wstream_cb cb, void *ctx)
{
	while (n) {
		size_t room = ws->b.max - ws->b.len, take = n < room ? n : room, consumed = 0;
		int rc, src;

		if (take == 0)
			return -E2BIG; /* one event fills the whole buffer */
		if ((rc = buf_append(&ws->b, data, take)) < 0)
			return rc;
		data += take;
		n -= take;
		src = scan(ws, cb, ctx, &consumed);
		/* Drop what was consumed; keep the partial object (offsets shift). */
		if (consumed) {
			memmove(ws->b.data, ws->b.data + consumed, ws->b.len - consumed);
			ws->b.len -= consumed;
			ws->scan -= consumed;
			if (ws->start != NO_START)
				ws->start -= consumed;
		}
		if (src != 0)
			return src;
	}
	return 0;
}

static const char *const type_names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" };

const char *wevent_type_name(enum wevent_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

void wevent_free(struct wevent *ev)
{
	if (!ev)
		return;
	json_decref(ev->object);
	memset(ev, 0, sizeof(*ev));
}

int wevent_decode(const char *json, size_t len, struct wevent *ev, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *type, *obj, *md, *rv, *code, *reason;
	size_t i;
	int rc = -EINVAL;

	memset(ev, 0, sizeof(*ev));
	if (!(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je))) {
		snprintf(err, errlen, "event is not JSON: %s", je.text);
		return -EINVAL;
	}
	type = json_object_get(root, "type");
	obj = json_object_get(root, "object");
	if (!json_is_string(type)) {
		snprintf(err, errlen, "event without a type");
		goto out;
	}
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(json_string_value(type), type_names[i]) == 0)
			break;
	if (i == sizeof(type_names) / sizeof(type_names[0])) {
		snprintf(err, errlen, "unknown event type '%.32s'", json_string_value(type));
		goto out;
	}
	ev->type = (enum wevent_type)i;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "%s event without an object", type_names[i]);
		goto out;
	}
	if (ev->type == WEV_ERROR) {
		code = json_object_get(obj, "code");
		reason = json_object_get(obj, "reason");
		ev->code = json_is_integer(code) ? (long)json_integer_value(code) : 0;
		ev->reason = json_is_string(reason) ? json_string_value(reason) : "";
	} else {
		md = json_object_get(obj, "metadata");
		rv = json_object_get(md, "resourceVersion");
		if (!json_is_string(rv) || !json_string_length(rv)) {
			snprintf(err, errlen, "%s event without metadata.resourceVersion", type_names[i]);
			goto out;
		}
		if (ev->type != WEV_BOOKMARK && (!json_is_string(json_object_get(md, "name")) ||
						 !json_string_length(json_object_get(md, "name")))) {
			snprintf(err, errlen, "%s event without metadata.name", type_names[i]);
			goto out;
		}
		ev->rv = json_string_value(rv);
	}
	ev->object = json_incref(obj);
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		memset(ev, 0, sizeof(*ev));
	return rc;
}

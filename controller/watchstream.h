/* watchstream.h: a Kubernetes watch response body split into events, and each event decoded. */
#ifndef VIVO_WATCHSTREAM_H
#define VIVO_WATCHSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* The splitter: bytes in any chunking, JSON objects out. It tracks strings and nesting,
 * so it needs no newline between objects and is not fooled by braces inside strings. */
struct wstream {
	struct buf b;    /* unconsumed bytes; b.max bounds one event */
	size_t scan;     /* bytes of b already scanned */
	size_t start;    /* offset where the current object starts, (size_t)-1 before one */
	int depth;
	bool in_str, esc;
};

/* Called with each complete object (not NUL-terminated). Non-zero stops the feed and is
 * returned by wstream_feed. */
typedef int (*wstream_cb)(void *ctx, const char *json, size_t len);

/* `max_event` bounds one event's bytes (the buffer never grows past it). */
void wstream_init(struct wstream *ws, size_t max_event);
void wstream_free(struct wstream *ws);
/* Forget partial input (a new connection). */
void wstream_reset(struct wstream *ws);
/* Feed bytes. 0; the callback's non-zero value; -EPROTO when something other than an
 * object starts at the top level (or nesting passes 512); -E2BIG when one event is larger
 * than max_event; -ENOMEM. After an error the stream must be reset. */
int wstream_feed(struct wstream *ws, const char *data, size_t n, wstream_cb cb, void *ctx);
/* True when no partial object is held. */
bool wstream_idle(const struct wstream *ws);

enum wevent_type { WEV_ADDED, WEV_MODIFIED, WEV_DELETED, WEV_BOOKMARK, WEV_ERROR };

struct wevent {
	enum wevent_type type;
	json_t *object;    /* owned: the object, or the Status of an ERROR */
	const char *rv;    /* metadata.resourceVersion (borrowed from object), NULL for ERROR */
	long code;         /* ERROR: the Status code (410 = Gone), else 0 */
	const char *reason; /* ERROR: the Status reason, or "" (borrowed) */
};

/* Decode one event {"type": ..., "object": {...}}. Every non-ERROR event must carry an
 * object with a string metadata.resourceVersion (and, except bookmarks, metadata.name).
 * 0, or -EINVAL with the reason in `err`. The caller frees with wevent_free. */
int wevent_decode(const char *json, size_t len, struct wevent *ev, char *err, size_t errlen);
void wevent_free(struct wevent *ev);
const char *wevent_type_name(enum wevent_type t);

#endif

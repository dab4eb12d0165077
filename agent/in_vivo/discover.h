/* in_vivo/discover.h: dns: upstream discovery: a thread that resolves names every `refresh` seconds. */
#ifndef VIVO_IN_VIVO_DISCOVER_H
#define VIVO_IN_VIVO_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct discover;

/* The environment variable naming a hosts file that replaces the system resolver for
 * dns: targets (tests; see docs/fleet.md). */
#define DISCOVER_HOSTS_ENV "VIVO_FOLLOW_HOSTS_FILE"

/* Resolve `name` to every A and AAAA address, as sorted, de-duplicated instances
 * "a.b.c.d:port" and "[v6]:port" (*out: caller frees with discover_list_free). With
 * `hosts_file`, its lines ("address name [alias...]", '#' comments) are used instead of
 * getaddrinfo. 0 (an unknown name is 0 with no address), or -EAGAIN (the resolver failed;
 * the previous answer should be kept) with a reason in `err`. */
int discover_resolve(const char *name, uint16_t port, const char *hosts_file, char ***out, size_t *n,
		     char *err, size_t errlen);
void discover_list_free(char **list, size_t n);

/* Start a thread resolving each names[i] (port ports[i]) now and then every `refresh`
 * seconds, calling wake(arg) after a round that changed an answer. Names and ports are
 * copied. 0, -EINVAL (refresh not above 0), -ENOMEM or -EAGAIN. */
int discover_start(char *const *names, const uint16_t *ports, size_t n, double refresh, const char *log_name,
		   void (*wake)(void *arg), void *arg, struct discover **out);
/* When target i's answer changed since generation *gen: a copy of it in *list / *n
 * (caller frees), *gen updated, true. */
bool discover_take(struct discover *d, size_t i, uint64_t *gen, char ***list, size_t *n);
/* Stop the thread (waits for a resolution in progress) and free. NULL-safe. */
void discover_stop(struct discover *d);

#endif

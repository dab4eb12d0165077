/* strset.h: a set of strings in one pool and one open-addressing index: no allocation per member, for sets of thousands of long-lived keys. */
#ifndef VIVO_STRSET_H
#define VIVO_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Members are non-empty strings without NUL bytes, kept NUL-terminated back to back in
 * `pool`; removed ones are zeroed until a compaction (when they are over half of it). Not
 * thread-safe. */
struct strset {
	char *pool;
	size_t used, cap, dead;
	uint32_t *slots;   /* nslots (a power of two): 0 empty, UINT32_MAX removed, else offset + 1 */
	size_t nslots, n, tombs;
};

void sset_init(struct strset *s);
void sset_free(struct strset *s);
/* Add s (copied); adding a member again changes nothing. 0, -EINVAL (empty), -ENOMEM or
 * -E2BIG (a pool over 4 GB). */
int sset_add(struct strset *s, const char *str);
/* Remove s if it is a member. */
void sset_del(struct strset *s, const char *str);
bool sset_has(const struct strset *s, const char *str);
/* Bytes held: the pool's and the index's allocations. */
size_t sset_bytes(const struct strset *s);

#endif

/* ctlutil.h: small helpers of the controller: clocks, RFC 3339 times, jittered backoff, files, sha256. */
#ifndef VIVO_CTLUTIL_H
#define VIVO_CTLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Monotonic clock in milliseconds (for deadlines and durations). */
int64_t cu_now_ms(void);
/* Monotonic clock in seconds, as a double (for latency histograms). */
double cu_now_s(void);

/* "2006-01-02T15:04:05Z" (metav1.Time) for the current wall clock. `out` has >= 32 bytes. */
void cu_rfc3339_now(char *out, size_t n);
/* "2006-01-02T15:04:05.000000Z" (metav1.MicroTime) for a wall clock in microseconds. */
void cu_rfc3339_micro(int64_t unix_us, char *out, size_t n);
/* Wall clock in microseconds since the epoch. */
int64_t cu_wall_us(void);
/* Parse an RFC 3339 UTC or offset time ("...Z", "...+02:00", optional fraction). 0 or -EINVAL. */
int cu_parse_rfc3339(const char *s, int64_t *unix_us);

/* The 32-bit FNV-1a hash of s[0..n) (the cache's and the string set's index). */
uint32_t cu_fnv1a32(const char *s, size_t n);

/* A uniform double in [0, 1) from a per-process generator seeded from the clock and pid. */
double cu_rand01(void);

/* Exponential backoff with jitter: each next() doubles the base from `min_ms` up to
 * `max_ms` and returns base * [0.75, 1.25) (never above max_ms). reset() starts over. */
struct cu_backoff {
	int64_t min_ms;
	int64_t max_ms;
	int64_t cur_ms; /* 0 = not started */
};
void cu_backoff_init(struct cu_backoff *b, int64_t min_ms, int64_t max_ms);
int64_t cu_backoff_next(struct cu_backoff *b);
void cu_backoff_reset(struct cu_backoff *b);

/* Read a whole file of at most `max` bytes. *out is NUL-terminated, caller frees.
 * 0, -errno, or -EFBIG when larger than max. */
int cu_read_file(const char *path, size_t max, char **out, size_t *len);
/* Write `len` bytes to `path` through a temporary file and rename. 0 or -errno. */
int cu_write_file(const char *path, const void *data, size_t len);


/* "sha256:" + 64 hex digits of the data; `out` has >= 72 bytes. */
void cu_sha256_tag(const void *data, size_t len, char *out, size_t n);

/* Base64 (standard alphabet, padded, no newlines) of n bytes; *out is NUL-terminated,
 * caller frees. 0 or -ENOMEM. */
int cu_b64_encode(const void *in, size_t n, char **out);
/* Decode padded base64 (no whitespace); *out is NUL-terminated (not counted in *outlen),
 * caller frees. 0, -EINVAL, -ENOMEM. */
int cu_b64_decode(const char *in, size_t n, char **out, size_t *outlen);

/* Copy at most n-1 bytes and terminate (truncates silently). */
void cu_strlcpy(char *dst, const char *src, size_t n);

#endif

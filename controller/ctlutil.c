/* ctlutil.c: clocks, RFC 3339 times, jittered backoff, file I/O and sha256 for the controller. */
#include "ctlutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

int64_t cu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double cu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t cu_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cu_rfc3339_now(char *out, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cu_rfc3339_micro(int64_t unix_us, char *out, size_t n)
{
	time_t t = (time_t)(unix_us / 1000000);
	struct tm tm;
	char sec[32];

	gmtime_r(&t, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%06ldZ", sec, (long)(unix_us % 1000000));
}

/* Read exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int cu_parse_rfc3339(const char *s, int64_t *unix_us)
{
	struct tm tm;
	int y, mo, d, h, mi, se, frac = 0, fdig = 0, off = 0;
	const char *p = s;
	time_t t;

	if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (fdig < 6) {
				frac = frac * 10 + (*p - '0');
				fdig++;
			}
			p++;
		}
		while (fdig < 6) {
			frac *= 10;
			fdig++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	*unix_us = ((int64_t)t - off) * 1000000 + frac;
	return 0;
}

static pthread_mutex_t rand_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rand_state;

uint32_t cu_fnv1a32(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

double cu_rand01(void)
{
	uint64_t x;

	pthread_mutex_lock(&rand_lock);
	if (!rand_state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		rand_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
	}
	/* xorshift64* */
	rand_state ^= rand_state >> 12;
	rand_state ^= rand_state << 25;
	rand_state ^= rand_state >> 27;
	x = rand_state * 0x2545F4914F6CDD1DULL;
	pthread_mutex_unlock(&rand_lock);
	return (double)(x >> 11) / (double)(1ULL << 53);
}

void cu_backoff_init(struct cu_backoff *b, int64_t min_ms, int64_t max_ms)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->cur_ms = 0;
}

int64_t cu_backoff_next(struct cu_backoff *b)
{
	int64_t d;

	b->cur_ms = b->cur_ms ? b->cur_ms * 2 : b->min_ms;
	if (b->cur_ms > b->max_ms)
		b->cur_ms = b->max_ms;
	d = (int64_t)((double)b->cur_ms * (0.75 + cu_rand01() * 0.5));
	return d > b->max_ms ? b->max_ms : d;
}

void cu_backoff_reset(struct cu_backoff *b)
{
	b->cur_ms = 0;
}

int cu_read_file(const char *path, size_t max, char **out, size_t *len)
{
	char *data = NULL;
	size_t n = 0, cap = 0;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p;

			if (ncap > max + 1)
				ncap = max + 2;
			if (ncap <= n + 1) {
				rc = -EFBIG;
				goto out;
			}
			if (!(p = realloc(data, ncap))) {
				rc = -ENOMEM;
				goto out;
			}
			data = p;
			cap = ncap;
		}
		r = read(fd, data + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			rc = -EFBIG;
			goto out;
		}
	}
	if (!data && !(data = malloc(1))) {
		rc = -ENOMEM;
		goto out;
	}
	data[n] = '\0';
	*out = data;
	if (len)
		*len = n;
	data = NULL;
out:
	free(data);
	close(fd);
	return rc;
}

int cu_write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	const char *p = data;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

void cu_sha256_tag(const void *data, size_t len, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		mdlen = 0;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	snprintf(out, n, "sha256:%s", hex);
}

void cu_strlcpy(char *dst, const char *src, size_t n)
{
	size_t l;

	if (!n)
		return;
	l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

int cu_b64_encode(const void *in, size_t n, char **out)
{
	char *b;

	if (n > (size_t)INT32_MAX / 2 || !(b = malloc(4 * ((n + 2) / 3) + 1)))
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)in, (int)n);
	*out = b;
	return 0;
}

int cu_b64_decode(const char *in, size_t n, char **out, size_t *outlen)
{
	unsigned char *b;
	size_t pad = 0;
	int got;

	/* EVP_DecodeBlock takes whole quanta only and counts '=' padding as zero bytes. */
	if (n % 4 != 0 || n > (size_t)INT32_MAX / 2)
		return -EINVAL;
	if (!(b = malloc(n / 4 * 3 + 1)))
		return -ENOMEM;
	if (n && in[n - 1] == '=')
		pad = n > 1 && in[n - 2] == '=' ? 2 : 1;
	got = n ? EVP_DecodeBlock(b, (const unsigned char *)in, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(b);
		return -EINVAL;
	}
	*outlen = (size_t)got - pad;
	b[*outlen] = '\0';
	*out = (char *)b;
	return 0;
}

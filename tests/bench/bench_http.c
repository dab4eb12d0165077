/* bench_http.c: benchmark tool: keep-alive HTTP load, full reads, poll latency, and the baseline servers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "opts.h"

static int num(const char *s, uint64_t max)
{
	return (int)bench_num("bench_http", s, max);
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0) {
		perror("listen");
		exit(1);
	}
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Read one HTTP response (Content-Length or chunked is not needed: our servers send a
 * length). Returns the body length, or -1. Leftover bytes are kept in `st`. */
struct conn {
	int fd;
	char buf[1 << 16];
	size_t have;
};

static long read_response(struct conn *c, char *hdr_out, size_t hdr_cap)
{
	long body = -1;
	size_t need = 0;

	for (;;) {
		char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);

		if (end) {
			size_t hl = (size_t)(end - c->buf) + 4;
			char *cl = memmem(c->buf, hl, "Content-Length: ", 16);
			long left;

			if (!cl)
				cl = memmem(c->buf, hl, "content-length: ", 16);
			body = cl ? strtol(cl + 16, NULL, 10) : 0;
			if (hdr_out) {
				size_t n = hl < hdr_cap - 1 ? hl : hdr_cap - 1;

				memcpy(hdr_out, c->buf, n);
				hdr_out[n] = 0;
			}
			need = hl + (size_t)body;
			if (c->have >= need) {
				memmove(c->buf, c->buf + need, c->have - need);
				c->have -= need;
				return body;
			}
			/* Body larger than what we hold: drain it. */
			left = (long)(need - c->have);
			c->have = 0;
			while (left > 0) {
				ssize_t n = read(c->fd, c->buf, sizeof(c->buf) < (size_t)left ? sizeof(c->buf) : (size_t)left);

				if (n <= 0)
					return -1;
				left -= n;
			}
			return body;
		}
		{
			ssize_t n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);

			if (n <= 0)
				return -1;
			c->have += (size_t)n;
		}
	}
}

/* post PORT CONNS SECONDS PATH BODY: keep-alive POST load, one request in flight per connection. */
static int cmd_post(int port, int conns, double seconds, const char *path, const char *body)
{
	size_t cap = strlen(path) + strlen(body) + 256;
	char *req = malloc(cap);
	int n = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s", path, strlen(body), body);
	int ep = epoll_create1(0), i;
	struct conn *cs = calloc((size_t)conns, sizeof(*cs));
	struct epoll_event ev[64];
	long done = 0, errors = 0;
	double t0, end;

	for (i = 0; i < conns; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		cs[i].fd = dial(port);
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &e);
	}
	t0 = bench_mono_s();
	end = t0 + seconds;
	for (i = 0; i < conns; i++)
		if (write(cs[i].fd, req, (size_t)n) != n)
			return 1;
	while (bench_mono_s() < end) {
		int k = epoll_wait(ep, ev, 64, 100), j;

		for (j = 0; j < k; j++) {
			struct conn *c = &cs[ev[j].data.u32];
			char hdr[256];
			ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);

			if (r <= 0) {
				fprintf(stderr, "bench_http: connection closed\n");
				return 1;
			}
			c->have += (size_t)r;
			while (memmem(c->buf, c->have, "\r\n\r\n", 4)) {
				if (read_response(c, hdr, sizeof(hdr)) < 0)
					return 1;
				if (strncmp(hdr, "HTTP/1.1 20", 11) != 0)
					errors++;
				done++;
				if (write(c->fd, req, (size_t)n) != n)
					return 1;
			}
		}
	}
	printf("%.0f\n", (double)done / (bench_mono_s() - t0));
	fprintf(stderr, "post: %ld requests, %ld non-2xx\n", done, errors);
	for (i = 0; i < conns; i++)
		close(cs[i].fd);
	free(cs);
	free(req);
	return errors ? 1 : 0;
}

/* get PORT PATH REPEAT: read the whole response REPEAT times; prints MB/s of body bytes. */
static int cmd_get(int port, const char *path, int repeat)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path);
	struct conn *c = calloc(1, sizeof(*c));
	double t0 = bench_mono_s(), bytes = 0;
	int i;

	c->fd = dial(port);
	for (i = 0; i < repeat; i++) {
		long b;

		if (write(c->fd, req, (size_t)n) != n || (b = read_response(c, NULL, 0)) < 0)
			return 1;
		bytes += (double)b;
	}
	printf("%.1f %.0f\n", bytes / (bench_mono_s() - t0) / 1e6, bytes / repeat);
	close(c->fd);
	free(c);
	return 0;
}

/* poll PORT SECONDS: GET /logs?from=<Next-ID> in a loop; prints p50 and p99 in microseconds
 * for the poll and for GET / (the baseline: the same server's cheapest answer). */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_poll(int port, double seconds)
{
	struct conn *c = calloc(1, sizeof(*c));
	size_t cap = 1 << 20, np = 0, nb = 0;
	double *lp = malloc(cap * sizeof(double)), *lb = malloc(cap * sizeof(double)), end = bench_mono_s() + seconds;
	unsigned long long next = 0;
	char hdr[1024], req[256];

	c->fd = dial(port);
	while (bench_mono_s() < end && np < cap) {
		double t = bench_mono_s();
		char *h;
		int n = snprintf(req, sizeof(req), "GET /logs?from=%llu HTTP/1.1\r\nHost: bench\r\n\r\n", next);

		if (write(c->fd, req, (size_t)n) != n || read_response(c, hdr, sizeof(hdr)) < 0)
			return 1;
		lp[np++] = (bench_mono_s() - t) * 1e6;
		if ((h = strcasestr(hdr, "Vivo-Stream-Next-ID: ")))
			next = strtoull(h + 21, NULL, 10);
		t = bench_mono_s();
		n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: bench\r\n\r\n");
		if (write(c->fd, req, (size_t)n) != n || read_response(c, NULL, 0) < 0)
			return 1;
		lb[nb++] = (bench_mono_s() - t) * 1e6;
	}
	qsort(lp, np, sizeof(double), cmp_double);
	qsort(lb, nb, sizeof(double), cmp_double);
	printf("%.0f %.0f %.0f %.0f %zu\n", lp[np / 2], lp[np * 99 / 100], lb[nb / 2], lb[nb * 99 / 100], np);
	close(c->fd);
	free(c);
	free(lp);
	free(lb);
	return 0;
}

/* discard: an HTTP server that reads requests and answers 201 with no body. */
static int cmd_discard(void)
{
	static const char resp[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	int port, lfd = listen_any(&port), ep = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN, .data.fd = lfd }, ev[64];
	static char bufs[4096][8192];
	static size_t have[4096];

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	printf("%d\n", port);
	fflush(stdout);
	for (;;) {
		int k = epoll_wait(ep, ev, 64, -1), j;

		for (j = 0; j < k; j++) {
			int fd = ev[j].data.fd;

			if (fd == lfd) {
				int c = accept(lfd, NULL, NULL), one = 1;

				if (c < 0 || c >= 4096) {
					if (c >= 0)
						close(c);
					continue;
				}
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				e.data.fd = c;
				have[c] = 0;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
				continue;
			}
			{
				ssize_t n = read(fd, bufs[fd] + have[fd], sizeof(bufs[fd]) - have[fd]);
				char *end;

				if (n <= 0) {
					close(fd);
					continue;
				}
				have[fd] += (size_t)n;
				while ((end = memmem(bufs[fd], have[fd], "\r\n\r\n", 4))) {
					size_t hl = (size_t)(end - bufs[fd]) + 4, bl = 0;
					char *cl = memmem(bufs[fd], hl, "Content-Length: ", 16);

					if (cl)
						bl = strtoul(cl + 16, NULL, 10);
					if (have[fd] < hl + bl)
						break;
					memmove(bufs[fd], bufs[fd] + hl + bl, have[fd] - hl - bl);
					have[fd] -= hl + bl;
					if (write(fd, resp, sizeof(resp) - 1) < 0)
						break;
				}
			}
		}
	}
	return 0;
}

/* serve FILE: answers every request on a connection with the file as the body, the way a
 * peer that just writes the bytes would (the baseline of a full read). */
static int cmd_serve(const char *path)
{
	int port, lfd = listen_any(&port), fd = open(path, O_RDONLY);
	struct stat st;
	char *data, hdr[128];

	if (fd < 0 || fstat(fd, &st) < 0 || !(data = malloc((size_t)st.st_size)) ||
	    read(fd, data, (size_t)st.st_size) != st.st_size)
		return 1;
	close(fd);
	printf("%d\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		char req[4096];

		if (c < 0)
			continue;
		while (read(c, req, sizeof(req)) > 0) {
			int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n\r\n", (long long)st.st_size);
			size_t off = 0;

			if (write(c, hdr, (size_t)n) != n)
				break;
			while (off < (size_t)st.st_size) {
				ssize_t w = write(c, data + off, (size_t)st.st_size - off);

				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
		close(c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "post") == 0)
		return cmd_post(num(argv[2], 65535), num(argv[3], 4096), num(argv[4], 600), argv[5], argv[6]);
	if (argc >= 5 && strcmp(argv[1], "get") == 0)
		return cmd_get(num(argv[2], 65535), argv[3], num(argv[4], 1000000));
	if (argc >= 4 && strcmp(argv[1], "poll") == 0)
		return cmd_poll(num(argv[2], 65535), num(argv[3], 600));
	if (argc >= 2 && strcmp(argv[1], "discard") == 0)
		return cmd_discard();
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argv[2]);
	fprintf(stderr, "usage: bench_http post PORT CONNS SECONDS PATH BODY | get PORT PATH REPEAT | poll PORT SECONDS"
			" | discard | serve FILE\n");
	return 2;
}

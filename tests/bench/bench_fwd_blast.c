/* bench_fwd_blast.c: Forward ingest benchmark client: sends prebuilt PackedForward, Forward or Message frames from N connections to the agent (timed until the last record is readable on the exporter API) or to a built-in discard server (timed until its last byte is read). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fwd_frames.h"

#define MAX_CONNS 64

struct sender {
	pthread_t th;
	int fd;
	struct buf data;
};

static struct {
	const char *mode;     /* packed, forward or message */
	int conns;
	long records;         /* per connection */
	int batch;            /* records per PackedForward or Forward frame */
	int port;             /* agent forward port; 0 = discard */
	int exporter;
	uint64_t frames;      /* chunks expected in all */
	uint64_t bytes;       /* bytes sent in all */
	atomic_ullong received;
	int lfd;
} g;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_fwd_blast: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void build(struct sender *s)
{
	buf_init(&s->data, SIZE_MAX);
	g.frames += fwd_frames_build(&s->data, g.mode, g.records, g.batch);
	g.bytes += s->data.len;
}

static void *send_main(void *arg)
{
	struct sender *s = arg;
	size_t off = 0;

	while (off < s->data.len) {
		size_t n = s->data.len - off > (1u << 20) ? (1u << 20) : s->data.len - off;
		ssize_t r = send(s->fd, s->data.data + off, n, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("send");
		}
		off += (size_t)r;
	}
	return NULL;
}

/* The baseline: a server that reads and discards, one thread per connection. */
static void *discard_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static _Thread_local char b[1 << 20];
	ssize_t r;

	while ((r = recv(fd, b, sizeof(b), 0)) > 0)
		atomic_fetch_add(&g.received, (unsigned long long)r);
	close(fd);
	return NULL;
}

static void *discard_accept(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < g.conns; i++) {
		pthread_t th;
		int fd = accept(g.lfd, NULL, NULL);

		if (fd < 0)
			die("accept");
		pthread_create(&th, NULL, discard_conn, (void *)(intptr_t)fd);
		pthread_detach(th);
	}
	return NULL;
}

static int discard_listen(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((g.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	setsockopt(g.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(g.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(g.lfd, 64) < 0 ||
	    getsockname(g.lfd, (struct sockaddr *)&sa, &len) < 0)
		die("listen");
	return ntohs(sa.sin_port);
}

/* Vivo-Stream-Next-ID of the logs stream, over one keep-alive connection. */
static uint64_t next_id(int *fd)
{
	static const char req[] = "GET /api/v1/logs?limit=1&from=18446744073709551615 HTTP/1.1\r\nHost: bench\r\n\r\n";
	char resp[8192];
	size_t got = 0;
	const char *h, *end;
	long clen = 0;

	if (*fd < 0)
		*fd = dial(g.exporter);
	if (send(*fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
		die("exporter send");
	for (;;) {
		ssize_t r = recv(*fd, resp + got, sizeof(resp) - 1 - got, 0);

		if (r <= 0)
			die("exporter recv");
		got += (size_t)r;
		resp[got] = '\0';
		if ((end = strstr(resp, "\r\n\r\n")))
			break;
	}
	if ((h = strcasestr(resp, "content-length:")))
		clen = strtol(h + 15, NULL, 10);
	while ((long)(got - (size_t)(end + 4 - resp)) < clen) {
		ssize_t r = recv(*fd, resp + got, sizeof(resp) - 1 - got, 0);

		if (r <= 0)
			die("exporter recv");
		got += (size_t)r;
	}
	h = strcasestr(resp, "vivo-stream-next-id:");
	return h ? strtoull(h + 20, NULL, 10) : 0;
}

int main(int argc, char **argv)
{
	struct sender s[MAX_CONNS];
	uint64_t base = 0;
	double t0, t1, secs;
	int i, efd = -1;
	pthread_t acc;

	if (argc != 7) {
		fprintf(stderr, "usage: bench_fwd_blast packed|forward|message CONNS RECORDS_PER_CONN BATCH FORWARD_PORT|0 EXPORTER_PORT\n");
		return 2;
	}
	g.mode = argv[1];
	g.conns = atoi(argv[2]);
	g.records = atol(argv[3]);
	g.batch = atoi(argv[4]);
	g.port = atoi(argv[5]);
	g.exporter = atoi(argv[6]);
	if (g.conns < 1 || g.conns > MAX_CONNS || g.records < 1 || g.batch < 1 ||
	    (strcmp(g.mode, "packed") != 0 && strcmp(g.mode, "forward") != 0 && strcmp(g.mode, "message") != 0))
		return 2;
	for (i = 0; i < g.conns; i++)
		build(&s[i]);
	if (g.port == 0) {
		g.port = discard_listen();
		pthread_create(&acc, NULL, discard_accept, NULL);
	} else {
		base = next_id(&efd);
	}
	for (i = 0; i < g.conns; i++)
		s[i].fd = dial(g.port);
	t0 = now();
	for (i = 0; i < g.conns; i++)
		pthread_create(&s[i].th, NULL, send_main, &s[i]);
	if (g.lfd) {
		while (atomic_load(&g.received) < g.bytes)
			usleep(200);
	} else {
		while (next_id(&efd) < base + g.frames)
			usleep(500);
	}
	t1 = now();
	for (i = 0; i < g.conns; i++) {
		pthread_join(s[i].th, NULL);
		close(s[i].fd);
		buf_free(&s[i].data);
	}
	secs = t1 - t0;
	printf("records=%ld bytes=%llu seconds=%.4f records_per_s=%.0f mb_per_s=%.1f\n", g.records * g.conns,
	       (unsigned long long)g.bytes, secs, (double)(g.records * g.conns) / secs, (double)g.bytes / secs / 1e6);
	return 0;
}

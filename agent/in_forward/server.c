/* in_forward/server.c: the Fluent Forward input (spec agent.md 4.1): listeners (TCP, Unix socket), TLS setup, epoll workers sharing the connections (conn.c), start, stop, options. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "conn.h"
#include "httpd.h"
#include "log.h"
#include "refuse.h"

/* --- workers ---------------------------------------------------------------------- */

static void accept_all(struct worker *w)
{
	struct fwd_server *srv = w->srv;
	int i;

	for (i = 0; i < 256; i++) {
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned k;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && refuse_emfile(srv->lfd, &srv->spare_fd, srv->in->name))
				continue;
			return;
		}
		k = atomic_fetch_add(&srv->rr, 1) % (unsigned)srv->nworkers;
		if (&srv->w[k] != w && write(srv->w[k].pipe[1], &fd, sizeof(fd)) == (ssize_t)sizeof(fd))
			continue;
		fwd_conn_add(w, fd);
	}
}

static void take_handed(struct worker *w)
{
	int fds[64];
	ssize_t r;
	size_t i;

	while ((r = read(w->pipe[0], fds, sizeof(fds))) > 0) {
		for (i = 0; i < (size_t)r / sizeof(int); i++) {
			if (fds[i] < 0)
				w->stopping = true;
			else if (w->stopping)
				close(fds[i]); /* accepted just before the stop */
			else
				fwd_conn_add(w, fds[i]);
		}
	}
}

/* Stopping: connections with nothing half received and nothing unsent end now; the others
 * get until the grace deadline to finish their frame (it is stored and acknowledged). True
 * when none is left or the deadline passed. */
static bool drained(struct worker *w)
{
	struct conn *c, *next;

	if (w->srv->lfd >= 0 && w == &w->srv->w[0]) {
		close(w->srv->lfd); /* new connections are refused from now on (worker 0 owns it) */
		w->srv->lfd = -1;
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (fwd_conn_idle(c))
			fwd_conn_close(w, c);
	}
	if (w->conns && httpd_now_ms() >= w->srv->deadline_ms) {
		for (c = w->conns; c; c = c->next)
			log_warn("%s: closing %s at the end of the grace period with a frame half received (%zu bytes)",
				 w->srv->in->name, c->peer, c->in.len);
		return true;
	}
	return w->conns == NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fwd_server *srv = w->srv;
	struct epoll_event ev[64];

	while (w->running) {
		int n = epoll_wait(w->ep, ev, 64, w->stopping ? 50 : -1), i;

		if (n < 0 && errno != EINTR)
			break;
		if (w->stopping && drained(w))
			break;
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &srv->lfd)
				accept_all(w);
			else if (ev[i].data.ptr == w->pipe)
				take_handed(w);
			else
				fwd_conn_event(w, ev[i].data.ptr, ev[i].events);
		}
		if (w->stopping && drained(w))
			break;
	}
	while (w->conns)
		fwd_conn_close(w, w->conns);
	return NULL;
}

static void worker_free(struct worker *w)
{
	if (w->ep >= 0)
		close(w->ep);
	if (w->pipe[0] >= 0)
		close(w->pipe[0]);
	if (w->pipe[1] >= 0)
		close(w->pipe[1]);
	fwd_decoder_free(w->dec);
	free(w->rbuf);
}

static int worker_init(struct fwd_server *srv, struct worker *w, bool listener, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	struct fwd_decoder_opts o = {
		.max_bytes = srv->max,
		/* Rendered JSON is larger than its msgpack (times as digits, the tag on every
		 * legacy line): allow for it. */
		.chunk_max = 8 * srv->max + 65536,
		.source_type = in->plugin->name,
		.source_name = in->name,
		.tag = in->conf.tag && *in->conf.tag ? in->conf.tag : NULL,
		.tag_prefix = in->conf.tag_prefix && *in->conf.tag_prefix ? in->conf.tag_prefix : NULL,
	};
	struct epoll_event e;
	size_t rsize = in->conf.buffer_chunk_size;

	w->srv = srv;
	w->ep = w->pipe[0] = w->pipe[1] = -1;
	w->running = true;
	if (rsize < 16384)
		rsize = 16384;
	if (rsize > (4u << 20))
		rsize = 4u << 20;
	w->rcap = rsize;
	if (fwd_decoder_new(&o, &w->dec) < 0 || !(w->rbuf = malloc(w->rcap))) {
		snprintf(err, errlen, "%s: out of memory", in->name);
		return -ENOMEM;
	}
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "%s: epoll/pipe: %s", in->name, strerror(errno));
		return -errno;
	}
	e.events = EPOLLIN;
	e.data.ptr = w->pipe;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->pipe[0], &e) < 0)
		goto fail;
	if (listener) {
		e.events = EPOLLIN;
		e.data.ptr = &srv->lfd;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, srv->lfd, &e) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: epoll_ctl: %s", in->name, strerror(errno));
	return -errno;
}

/* --- listeners -------------------------------------------------------------------- */

static int listen_tcp(struct fwd_server *srv, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[16];
	int rc, fd = -1, one = 1, saved = 0;

	snprintf(port, sizeof(port), "%lld", in->conf.port);
	if ((rc = getaddrinfo(in->conf.listen, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: cannot resolve listen address '%s': %s", in->name, in->conf.listen, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot listen on %s:%lld: %s", in->name, in->conf.listen, in->conf.port,
			 strerror(saved ? saved : EADDRNOTAVAIL));
		return -(saved ? saved : EADDRNOTAVAIL);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		in->bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				       ((struct sockaddr_in *)&ss)->sin_port);
	srv->lfd = fd;
	return 0;
}

static int listen_unix(struct fwd_server *srv, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = in->conf.unix_path;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: unix_path is longer than %zu bytes", in->name, sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	unlink(path); /* a socket left by an earlier run, as Fluent Bit does */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
		goto fail;
	if (in->conf.unix_perm && *in->conf.unix_perm) {
		char *end;
		long mode = strtol(in->conf.unix_perm, &end, 8);

		if (*end || mode < 0 || mode > 07777) {
			snprintf(err, errlen, "%s: unix_perm '%s' is not an octal mode such as 0660", in->name, in->conf.unix_perm);
			close(fd);
			unlink(path);
			return -EINVAL;
		}
		if (chmod(path, (mode_t)mode) < 0)
			goto fail;
	}
	if (!(srv->unix_path = strdup(path))) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	srv->lfd = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: cannot listen on unix socket %s: %s", in->name, path, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

static int tls_setup(struct fwd_server *srv, char *err, size_t errlen)
{
	struct input_instance *in = srv->in;
	const char *crt = in->conf.tls_crt_file, *key = in->conf.tls_key_file;

	if (!crt || !*crt || !key || !*key) {
		snprintf(err, errlen, "%s: tls on needs tls.crt_file and tls.key_file", in->name);
		return -EINVAL;
	}
	if (!(srv->ssl = SSL_CTX_new(TLS_server_method()))) {
		snprintf(err, errlen, "%s: TLS: %s", in->name, fwd_ssl_reason());
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(srv->ssl, TLS1_2_VERSION);
	SSL_CTX_set_mode(srv->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(srv->ssl, crt) != 1) {
		snprintf(err, errlen, "%s: tls.crt_file %s: %s", in->name, crt, fwd_ssl_reason());
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(srv->ssl, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ssl) != 1) {
		snprintf(err, errlen, "%s: tls.key_file %s: %s", in->name, key, fwd_ssl_reason());
		return -EINVAL;
	}
	return 0;
}

static void server_free(struct fwd_server *srv)
{
	int i;

	for (i = 0; i < srv->nworkers; i++)
		worker_free(&srv->w[i]);
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	if (srv->unix_path) {
		unlink(srv->unix_path);
		free(srv->unix_path);
	}
	SSL_CTX_free(srv->ssl);
	fwd_auth_free(&srv->auth);
	free(srv);
}

/* Ask the workers to stop: no new connections, half-sent frames finish (until the grace
 * deadline), then they end. */
static void forward_drain(struct input_instance *in)
{
	struct fwd_server *srv = in->priv;
	int i, stop = -1;

	if (!srv || srv->deadline_ms)
		return;
	srv->deadline_ms = httpd_stop_deadline();
	for (i = 0; i < srv->nworkers; i++) {
		if (!srv->w[i].started)
			continue;
		/* The pipe is non-blocking and nearly empty: a short write cannot happen. */
		if (write(srv->w[i].pipe[1], &stop, sizeof(stop)) != (ssize_t)sizeof(stop))
			log_warn("%s: cannot signal worker %d", in->name, i);
	}
}

static void forward_stop(struct input_instance *in)
{
	struct fwd_server *srv = in->priv;
	int i;

	if (!srv)
		return;
	forward_drain(in);
	for (i = 0; i < srv->nworkers; i++)
		if (srv->w[i].started)
			pthread_join(srv->w[i].thread, NULL);
	server_free(srv);
	in->priv = NULL;
}

static int forward_start(struct input_instance *in, char *err, size_t errlen)
{
	struct fwd_server *srv = calloc(1, sizeof(*srv));
	const struct input_conf *cf = &in->conf;
	sigset_t all, old;
	int i, rc, nworkers;

	if (!srv)
		return -ENOMEM;
	srv->in = in;
	srv->lfd = srv->spare_fd = -1;
	srv->max = cf->buffer_max_size;
	nworkers = (int)cf->workers;
	srv->secure = (cf->shared_key && *cf->shared_key) || cf->empty_shared_key;
	if (cf->users.n && !srv->secure) {
		snprintf(err, errlen, "%s: security.users needs shared_key (or empty_shared_key on)", in->name);
		rc = -EINVAL;
		goto fail;
	}
	if (srv->secure &&
	    (rc = fwd_auth_init(&srv->auth, cf->shared_key, cf->self_hostname, cf->users.v, cf->users.n, err, errlen)) < 0) {
		if (rc == -EINVAL) {
			char reason[256];

			snprintf(reason, sizeof(reason), "%s", err);
			snprintf(err, errlen, "%s: %s", in->name, reason);
		}
		goto fail;
	}
	if (cf->tls && (rc = tls_setup(srv, err, errlen)) < 0)
		goto fail;
	/* Like Fluent Bit: with unix_path set, listen and port are not used. */
	rc = cf->unix_path && *cf->unix_path ? listen_unix(srv, err, errlen) : listen_tcp(srv, err, errlen);
	if (rc < 0)
		goto fail;
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < nworkers; i++) {
		srv->nworkers = i + 1;
		if ((rc = worker_init(srv, &srv->w[i], i == 0, err, errlen)) < 0)
			goto fail;
	}
	/* Workers take no signals: the main thread handles them with sigwait. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < srv->nworkers; i++) {
		if ((rc = pthread_create(&srv->w[i].thread, NULL, worker_main, &srv->w[i])) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "%s: cannot start a worker thread: %s", in->name, strerror(rc));
			in->priv = srv;
			forward_stop(in);
			return -rc;
		}
		srv->w[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (srv->unix_path)
		log_info("%s: listening on unix:%s", in->name, srv->unix_path);
	in->priv = srv;
	return 0;
fail:
	server_free(srv);
	return rc;
}

#define OFF(f) offsetof(struct input_conf, f)
static const struct opt_def forward_opts[] = {
	{ "name", OPT_STRING, "forward", 0, 0, OFF(name), "plugin name" },
	{ "tag", OPT_STRING, NULL, 0, 0, OFF(tag), "replace the tag of every frame with this one" },
	{ "tag_prefix", OPT_STRING, NULL, 0, 0, OFF(tag_prefix), "prefix every frame's tag with this" },
	{ "alias", OPT_STRING, NULL, 0, 0, OFF(alias), "instance name in metrics and the v1 source_name" },
	{ "listen", OPT_STRING, NULL, 0, 0, OFF(listen), "address to bind (default: the agent's --listen)" },
	{ "port", OPT_INT, "9000", 0, 65535, OFF(port), "TCP port (0 = ephemeral)" },
	{ "unix_path", OPT_STRING, NULL, 0, 0, OFF(unix_path), "listen on this Unix socket instead of TCP" },
	{ "unix_perm", OPT_STRING, NULL, 0, 0, OFF(unix_perm), "permissions of the Unix socket, octal (e.g. 0660)" },
	{ "buffer_max_size", OPT_SIZE, "6144000", 64, 1000000000, OFF(buffer_max_size), "largest frame per connection, also after decompression" },
	{ "buffer_chunk_size", OPT_SIZE, "1024000", 1, 1000000000, OFF(buffer_chunk_size), "read size (16K to 4M are used)" },
	{ "shared_key", OPT_STRING, NULL, 0, 0, OFF(shared_key), "secure forward: require the HELO/PING/PONG handshake with this key" },
	{ "empty_shared_key", OPT_BOOL, "off", 0, 0, OFF(empty_shared_key), "secure forward with a zero-length shared key" },
	{ "self_hostname", OPT_STRING, "localhost", 0, 0, OFF(self_hostname), "secure forward: this server's name in PONG" },
	{ "security.users", OPT_LIST, NULL, 0, 0, OFF(users), "secure forward: 'name password' a client must present (repeatable)" },
	{ "tls", OPT_BOOL, "off", 0, 0, OFF(tls), "accept TLS connections only" },
	{ "tls.crt_file", OPT_STRING, NULL, 0, 0, OFF(tls_crt_file), "TLS certificate (chain), PEM" },
	{ "tls.key_file", OPT_STRING, NULL, 0, 0, OFF(tls_key_file), "TLS private key, PEM" },
	{ "tls.verify", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit client-side switch; this server asks no client certificate" },
	{ "tls.debug", OPT_COMPAT, NULL, 0, 0, 0, "Fluent Bit TLS log level; errors are logged with the peer" },
	{ "workers", OPT_INT, "2", 1, MAX_WORKERS, OFF(workers), "event-loop threads sharing the connections (Vivo)" },
	OPT_END,
};

const struct input_plugin input_forward = {
	.name = "forward",
	.help = "Fluent Forward input: Fluent Bit and Fluentd clients (all modes, acks, gzip/zstd, metrics, traces, secure forward, TLS)",
	.opts = forward_opts,
	.listens = true,
	.listener = "forward",
	.start = forward_start,
	.stop = forward_stop,
	.drain = forward_drain,
};

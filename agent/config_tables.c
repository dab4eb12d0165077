/* config_tables.c: what [SERVICE], the vivo_exporter output and every input accept, key by key, with what each does in Vivo (Fluent Bit 5.1.1's property lists: src/flb_config.c, flb_input.c, flb_output.c, flb_upstream.c). */
#include "config_tables.h"

#include <stddef.h>
#include <strings.h>

#include "agent_config.h"

#define SOFF(f) offsetof(struct service_conf, f)
#define NOEFFECT(key, why) { key, OPT_COMPAT, NULL, 0, 0, 0, why }

const struct opt_def config_service_opts[] = {
	{ "log_level", OPT_STRING, "info", 0, 0, SOFF(log_level), "off, error, warn, info, debug or trace" },
	{ "listen", OPT_STRING, "127.0.0.1", 0, 0, SOFF(listen), "default bind address of every listener (Vivo)" },
	{ "http_server", OPT_BOOL, "on", 0, 0, SOFF(http_server), "serve health and self-metrics (port 2020)" },
	{ "http_listen", OPT_STRING, NULL, 0, 0, SOFF(http_listen), "bind address of the health server" },
	{ "http_port", OPT_INT, "2020", 0, 65535, SOFF(http_port), "port of the health server" },
	{ "ui", OPT_BOOL, "on", 0, 0, SOFF(ui), "serve the web UI (Vivo)" },
	{ "ui_listen", OPT_STRING, NULL, 0, 0, SOFF(ui_listen), "bind address of the web UI (Vivo)" },
	{ "ui_port", OPT_INT, "8000", 0, 65535, SOFF(ui_port), "port of the web UI (Vivo)" },
	{ "demo", OPT_BOOL, "off", 0, 0, SOFF(demo), "add demo inputs: dummy logs, self-metrics (Vivo)" },
	{ "parsers_file", OPT_LIST, NULL, 0, 0, SOFF(parsers_file), "parsers file (repeatable; relative to the config file): read and checked, its parsers unused (Vivo has no parser filter)" },
	NOEFFECT("flush", "Vivo stores records as they arrive, there is nothing to flush"),
	{ "grace", OPT_INT, "5", 0, 300, SOFF(grace), "seconds SIGTERM gives uploads and Forward frames in flight to finish (new connections are refused at once), then the agent exits 0" },
	NOEFFECT("daemon", "Vivo stays in the foreground; run it under a supervisor"),
	NOEFFECT("log_file", "Vivo logs to stderr"),
	NOEFFECT("plugins_file", "Vivo loads no external plugins"),
	NOEFFECT("streams_file", "Vivo has no stream processor"),
	NOEFFECT("coro_stack_size", "Vivo runs no coroutines"),
	NOEFFECT("json.convert_nan_to_null", "Vivo always writes NaN and Infinity as null"),
	NOEFFECT("json.escape_unicode", "Vivo writes valid UTF-8 as is"),
	NOEFFECT("sp.convert_from_str_to_num", "Vivo has no stream processor"),
	NOEFFECT("multiline_buffer_limit", "Vivo has no multiline parser"),
	NOEFFECT("scheduler.cap", "the vivo_exporter output never retries"),
	NOEFFECT("scheduler.base", "the vivo_exporter output never retries"),
	NOEFFECT("dns.mode", "Vivo resolves no host names"),
	NOEFFECT("dns.resolver", "Vivo resolves no host names"),
	NOEFFECT("dns.prefer_ipv4", "Vivo resolves no host names"),
	NOEFFECT("dns.prefer_ipv6", "Vivo resolves no host names"),
	NOEFFECT("hot_reload", "Vivo always reloads its config on SIGHUP"),
	NOEFFECT("hot_reload.ensure_thread_safety", "Vivo's reload keeps unchanged inputs running"),
	NOEFFECT("hot_reload.timeout", "Vivo's reload is not watched by a timer"),
	NOEFFECT("health_check", "Vivo serves /api/v1/health on the http_server port always"),
	NOEFFECT("hc_errors_count", "Vivo's health is up when every listener is"),
	NOEFFECT("hc_retry_failure_count", "Vivo's health is up when every listener is"),
	NOEFFECT("hc_period", "Vivo's health is up when every listener is"),
	NOEFFECT("enable_chunk_trace", "Vivo has no chunk tracing"),
	NOEFFECT("windows.maxstdio", "Windows only"),
	NOEFFECT("http_server.http2", "the health server speaks HTTP/1.1"),
	NOEFFECT("storage.path", "Vivo keeps its three streams in memory (stream_queue_size each)"),
	NOEFFECT("storage.sync", "Vivo writes no chunks to disk"),
	NOEFFECT("storage.metrics", "the streams' figures are on /api/v1/metrics/prometheus always"),
	NOEFFECT("storage.checksum", "Vivo writes no chunks to disk"),
	NOEFFECT("storage.backlog.mem_limit", "Vivo has no filesystem backlog"),
	NOEFFECT("storage.backlog.flush_on_shutdown", "Vivo has no filesystem backlog"),
	NOEFFECT("storage.max_chunks_up", "Vivo's chunks are all in memory, bounded by stream_queue_size"),
	NOEFFECT("storage.delete_irrecoverable_chunks", "Vivo writes no chunks to disk"),
	NOEFFECT("storage.trim_files", "Vivo writes no chunks to disk"),
	NOEFFECT("storage.type", "Vivo keeps its streams in memory"),
	NOEFFECT("storage.inherit", "Vivo keeps its streams in memory"),
	NOEFFECT("storage.keep.rejected", "the vivo_exporter output rejects nothing"),
	NOEFFECT("storage.rejected.path", "the vivo_exporter output rejects nothing"),
	OPT_END,
};

/* Fluent Bit's upstream network settings (flb_upstream.c): every output takes them. */
#define UPSTREAM_NET(why) \
	NOEFFECT("net.connect_timeout", why), NOEFFECT("net.connect_timeout_log_error", why), \
	NOEFFECT("net.io_timeout", why), NOEFFECT("net.dns.mode", why), NOEFFECT("net.dns.resolver", why), \
	NOEFFECT("net.dns.prefer_ipv4", why), NOEFFECT("net.dns.prefer_ipv6", why), NOEFFECT("net.keepalive", why), \
	NOEFFECT("net.keepalive_idle_timeout", why), NOEFFECT("net.keepalive_max_recycle", why), \
	NOEFFECT("net.max_worker_connections", why), NOEFFECT("net.proxy_env_ignore", why), \
	NOEFFECT("net.source_address", why), NOEFFECT("net.tcp_keepalive", why), \
	NOEFFECT("net.tcp_keepalive_time", why), NOEFFECT("net.tcp_keepalive_interval", why), \
	NOEFFECT("net.tcp_keepalive_probes", why)

/* TLS settings Fluent Bit's inputs and outputs share (flb_input.c, flb_output.c). */
#define TLS_KEYS(why) \
	NOEFFECT("tls.verify", why), NOEFFECT("tls.verify_hostname", why), NOEFFECT("tls.debug", why), \
	NOEFFECT("tls.vhost", why), NOEFFECT("tls.ca_path", why), NOEFFECT("tls.ca_file", why), \
	NOEFFECT("tls.crt_file", why), NOEFFECT("tls.key_file", why), NOEFFECT("tls.key_passwd", why), \
	NOEFFECT("tls.min_version", why), NOEFFECT("tls.max_version", why), NOEFFECT("tls.ciphers", why)

#define EOFF(f) offsetof(struct exporter_conf, f)
const struct opt_def config_exporter_opts[] = {
	{ "name", OPT_STRING, "vivo_exporter", 0, 0, EOFF(name), "plugin name" },
	{ "match", OPT_STRING, "*", 0, 0, EOFF(match), "tag pattern; Vivo exports every record" },
	{ "host", OPT_STRING, NULL, 0, 0, EOFF(host), "bind address of the exporter API (default: the agent's listen)" },
	{ "port", OPT_INT, "2025", 0, 65535, EOFF(port), "port of the exporter API" },
	{ "empty_stream_on_read", OPT_BOOL, "off", 0, 0, EOFF(empty_stream_on_read), "a GET removes the chunks it returned" },
	{ "stream_queue_size", OPT_SIZE, "20M", 1, 0, EOFF(stream_queue_size), "byte budget of each stream (decimal units)" },
	{ "http_cors_allow_origin", OPT_STRING, NULL, 0, 0, EOFF(http_cors_allow_origin), "value of Access-Control-Allow-Origin (exporter and the UI port's /vivo/... and /api/v1/...)" },
	{ "alias", OPT_STRING, NULL, 0, 0, EOFF(alias), "output name in /api/v1/internal/metrics (default vivo_exporter.0)" },
	NOEFFECT("match_regex", "Vivo exports every record"),
	NOEFFECT("workers", "Vivo appends under one lock per stream, with no flush workers"),
	NOEFFECT("retry_limit", "the vivo_exporter output never fails, so never retries"),
	NOEFFECT("log_level", "Vivo has one log level, [SERVICE] log_level"),
	NOEFFECT("log_suppress_interval", "Vivo does not repeat log lines"),
	NOEFFECT("ipv6", "the exporter binds the address `host` names"),
	NOEFFECT("storage.total_limit_size", "Vivo keeps its streams in memory (stream_queue_size each)"),
	NOEFFECT("tls", "the exporter API speaks plain HTTP (Fluent Bit refuses tls on for vivo_exporter too)"),
	TLS_KEYS("the exporter API speaks plain HTTP"),
	UPSTREAM_NET("the vivo_exporter output connects nowhere"),
	OPT_END,
};

const struct opt_def config_input_common_opts[] = {
	NOEFFECT("log_level", "Vivo has one log level, [SERVICE] log_level"),
	NOEFFECT("log_suppress_interval", "Vivo does not repeat log lines"),
	NOEFFECT("routable", "Vivo stores the records of every input"),
	NOEFFECT("mem_buf_limit", "Vivo bounds each stream (stream_queue_size), not each input"),
	NOEFFECT("host", "listening inputs bind `listen`"),
	NOEFFECT("ipv6", "listening inputs bind the address `listen` names"),
	NOEFFECT("storage.type", "Vivo keeps its streams in memory"),
	NOEFFECT("storage.pause_on_chunks_overlimit", "Vivo evicts the oldest chunks instead of pausing inputs"),
	NOEFFECT("threaded", "Vivo's inputs always run on their own threads"),
	NOEFFECT("thread.ring_buffer.capacity", "Vivo's inputs append to the streams directly"),
	NOEFFECT("thread.ring_buffer.window", "Vivo's inputs append to the streams directly"),
	OPT_END,
};

/* Listening inputs: Fluent Bit's TLS keys and its downstream network settings. */
const struct opt_def config_input_net_opts[] = {
	NOEFFECT("tls", "this input of Vivo's has no TLS (only forward has): terminate TLS in front of it"),
	NOEFFECT("tls.verify_client_cert", "Vivo asks no client certificate"),
	TLS_KEYS("this input of Vivo's has no TLS (only forward has)"),
	NOEFFECT("net.io_timeout", "Vivo's listeners keep their own bounded timeouts"),
	NOEFFECT("net.accept_timeout", "Vivo's listeners keep their own bounded timeouts"),
	NOEFFECT("net.accept_timeout_log_error", "Vivo's listeners keep their own bounded timeouts"),
	NOEFFECT("net.keepalive", "Vivo's listeners keep connections alive (HTTP/1.1 keep-alive)"),
	NOEFFECT("net.keepalive_idle_timeout", "Vivo's listeners keep their own bounded timeouts"),
	NOEFFECT("net.keepalive_max_recycle", "Vivo's listeners do not recycle connections"),
	NOEFFECT("net.max_worker_connections", "Vivo's listeners bound connections themselves"),
	NOEFFECT("net.share_port", "Vivo binds each port once"),
	NOEFFECT("net.backlog", "Vivo's listeners use the system's backlog"),
	OPT_END,
};

/* The HTTP-family inputs (http, opentelemetry): the shared listener settings of Fluent Bit
 * 5 and its OAuth 2.0 JWT validation. */
const struct opt_def config_input_http_opts[] = {
	NOEFFECT("http2", "Vivo's HTTP inputs speak HTTP/1.1"),
	NOEFFECT("http_server.http2", "Vivo's HTTP inputs speak HTTP/1.1"),
	NOEFFECT("http_server.buffer_chunk_size", "Vivo sizes reads itself"),
	NOEFFECT("http_server.max_connections", "Vivo bounds request bodies held at once across listeners (32 MB)"),
	NOEFFECT("http_server.workers", "each of Vivo's HTTP inputs runs two threads"),
	NOEFFECT("http_server.ingress_queue_event_limit", "Vivo stores a request before it answers it, with no queue"),
	NOEFFECT("http_server.ingress_queue_byte_limit", "Vivo stores a request before it answers it, with no queue"),
	NOEFFECT("http_server.idle_timeout", "Vivo's listeners keep their own bounded timeouts"),
	NOEFFECT("oauth2.validate", "Vivo validates no bearer tokens (only off is accepted)"),
	NOEFFECT("oauth2.issuer", "Vivo validates no bearer tokens"),
	NOEFFECT("oauth2.jwks_url", "Vivo validates no bearer tokens"),
	NOEFFECT("oauth2.allowed_audience", "Vivo validates no bearer tokens"),
	NOEFFECT("oauth2.allowed_clients", "Vivo validates no bearer tokens"),
	NOEFFECT("oauth2.jwks_refresh_interval", "Vivo validates no bearer tokens"),
	OPT_END,
};

#define OFF_VALUES "off|false|no|0"

const char *config_accepted_values(const char *key)
{
	static const struct { const char *key, *values; } rules[] = {
		/* Turning these on would ask for a guarantee Vivo does not give. */
		{ "tls", OFF_VALUES },
		{ "tls.verify_client_cert", OFF_VALUES },
		{ "oauth2.validate", OFF_VALUES },
		/* Fluent Bit refuses any other storage type. */
		{ "storage.type", "memory|filesystem|memrb" },
	};
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcasecmp(rules[i].key, key) == 0)
			return rules[i].values;
	return NULL;
}

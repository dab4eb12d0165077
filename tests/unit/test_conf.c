/* test_conf.c: unit tests for the YAML and classic loaders and the agent's option tables. */
#include <stdlib.h>

#include "conf.h"
#include "agent_config.h"
#include "tap.h"

static int load(const char *text, struct agent_config *cfg, char *err)
{
	config_init(cfg);
	return config_load_text(text, strlen(text), "t.conf", cfg, err, 512);
}

/* The examples of Fluent Bit's vivo_exporter documentation, unchanged. */
static const char doc_yaml[] =
	"pipeline:\n"
	"  inputs:\n"
	"    - name: dummy\n"
	"      tag: events\n"
	"      rate: 2\n"
	"\n"
	"  outputs:\n"
	"    - name: vivo_exporter\n"
	"      match: '*'\n"
	"      host: 0.0.0.0\n"
	"      port: 2025\n"
	"      empty_stream_on_read: off\n"
	"      stream_queue_size: 20M\n"
	"      http_cors_allow_origin: '*'\n";

static const char doc_classic[] =
	"[INPUT]\n"
	"    name  dummy\n"
	"    tag   events\n"
	"    rate  2\n"
	"\n"
	"[OUTPUT]\n"
	"    name                   vivo_exporter\n"
	"    match                  *\n"
	"    empty_stream_on_read   off\n"
	"    stream_queue_size      20M\n"
	"    http_cors_allow_origin *\n";

int main(void)
{
	struct agent_config cfg;
	struct conf_doc d;
	char err[512];

	ok(load(doc_yaml, &cfg, err) == 0, "Fluent Bit doc YAML example loads (%s)", err);
	ok(cfg.ninputs == 1 && strcmp(cfg.inputs[0].plugin->name, "dummy") == 0 &&
	   strcmp(cfg.inputs[0].conf.tag, "events") == 0 && cfg.inputs[0].conf.rate == 2.0, "its dummy input");
	ok(cfg.exporter.port == 2025 && strcmp(cfg.exporter.host, "0.0.0.0") == 0 &&
	   cfg.exporter.stream_queue_size == 20000000 && !cfg.exporter.empty_stream_on_read &&
	   strcmp(cfg.exporter.http_cors_allow_origin, "*") == 0, "its vivo_exporter output");
	config_free(&cfg);

	ok(load(doc_classic, &cfg, err) == 0, "Fluent Bit doc classic example loads (%s)", err);
	ok(cfg.ninputs == 1 && cfg.exporter.stream_queue_size == 20000000 &&
	   strcmp(cfg.exporter.http_cors_allow_origin, "*") == 0, "classic values");
	config_free(&cfg);

	ok(load("[SERVICE]\n    flush 1\n    log_level debug\n[INPUT]\n    name fluentbit_metrics\n"
		"    scrape_interval 1\n[INPUT]\n    Name http\n    Port 9880\n", &cfg, err) == 0,
	   "fluentbit_metrics and case-insensitive keys (%s)", err);
	ok(cfg.ninputs == 2 && strcmp(cfg.inputs[0].plugin->name, "self_metrics") == 0 &&
	   cfg.inputs[1].conf.port == 9880 && strcmp(cfg.service.log_level, "debug") == 0, "values applied");
	config_free(&cfg);

	ok(load("[INPUT]\n    name tail\n", &cfg, err) < 0 && strstr(err, "t.conf:2: unknown input plugin 'tail'") &&
	   strstr(err, "supported: forward, http"), "unknown plugin names file:line and what is supported: %s", err);
	config_free(&cfg);
	ok(load("[OUTPUT]\n    name vivo_exporter\n    stream_queue_size 20Q\n", &cfg, err) < 0 &&
	   strstr(err, "t.conf:3:") && strstr(err, "stream_queue_size") && strstr(err, "20Q"),
	   "bad size names key, value and line: %s", err);
	config_free(&cfg);
	ok(load("pipeline:\n  outputs:\n    - name: vivo_exporter\n      colour: blue\n", &cfg, err) < 0 &&
	   strstr(err, "t.conf:4: unknown key 'colour'") && strstr(err, "stream_queue_size"),
	   "unknown key lists the supported ones: %.80s", err);
	config_free(&cfg);
	ok(load("pipeline:\n  inputs:\n    - name: http\n      port: 70000\n", &cfg, err) < 0 && strstr(err, ":4:") &&
	   strstr(err, "out of range"), "port out of range: %s", err);
	config_free(&cfg);
	ok(load("service:\n  flush: [1\n", &cfg, err) < 0 && strstr(err, "t.conf:"), "YAML syntax error has a line: %s", err);
	config_free(&cfg);
	ok(load("pipeline:\n  inputs:\n    - name: http\n      processors:\n        logs: []\n", &cfg, err) < 0 &&
	   strstr(err, "processors"), "nested settings are refused by name: %s", err);
	config_free(&cfg);
	ok(load("key value\n[INPUT]\n", &cfg, err) < 0, "classic key outside a section is an error");
	config_free(&cfg);

	setenv("VIVO_TEST_PORT", "9123", 1);
	ok(load("@SET TAG=from-set\n[INPUT]\n    name http\n    port ${VIVO_TEST_PORT}\n    tag ${TAG}\n", &cfg, err) == 0 &&
	   cfg.inputs[0].conf.port == 9123 && strcmp(cfg.inputs[0].conf.tag, "from-set") == 0,
	   "${VAR} from the environment and @SET");
	config_free(&cfg);
	ok(load("env:\n  P: 9124\npipeline:\n  inputs:\n    - name: http\n      port: ${P}\n", &cfg, err) == 0 &&
	   cfg.inputs[0].conf.port == 9124, "YAML env: section");
	config_free(&cfg);
	ok(load("pipeline:\n  inputs:\n    - name: http\n      success_header:\n        - X-A 1\n        - X-B 2\n", &cfg, err) == 0 &&
	   cfg.inputs[0].conf.success_header.n == 2, "a YAML list fills a repeatable key");
	config_free(&cfg);

	ok(conf_parse("[A]\nk v\n", 8, "x", NULL, &d, err, sizeof(err)) == 0 && d.n == 1 && strcmp(d.s[0].kind, "a") == 0 &&
	   d.s[0].n == 1 && strcmp(d.s[0].file, "x") == 0, "classic document structure");
	conf_doc_free(&d);
	ok(conf_parse("@INCLUDE other.conf\n", 20, "x", NULL, &d, err, sizeof(err)) < 0 && strstr(err, "x:1: includes"),
	   "text without a folder refuses @INCLUDE: %s", err);
	conf_doc_free(&d);
	ok(conf_parse("service:\n  storage:\n    path: /s\n    sync: full\npipeline:\n  inputs:\n    - name: x\n"
		      "      rules:\n        - state: a\n          next: b\n", 132, "y", NULL, &d, err, sizeof(err)) == 0 &&
	   d.n == 2 && strcmp(d.s[0].kv[0].key, "storage.path") == 0 && strcmp(d.s[0].kv[1].key, "storage.sync") == 0 &&
	   strcmp(d.s[1].kv[1].key, "rules.state") == 0 && d.s[1].kv[2].line == 10, "YAML nested maps become dotted keys (%s)", err);
	conf_doc_free(&d);

	ok(load("[SERVICE]\n    healthcheck on\n    storage.path /var/x\n[INPUT]\n    name http\n    Mem_Buf_Limit 5MB\n"
		"    storage.type filesystem\n[OUTPUT]\n    name vivo_exporter\n    Retry_Limit 3\n    Workers 2\n", &cfg, err) == 0,
	   "Fluent Bit keys with no effect in Vivo load (%s)", err);
	config_free(&cfg);
	ok(load("[INPUT]\n    name http\n    storage.type disk\n", &cfg, err) < 0 && strstr(err, "t.conf:3:") &&
	   strstr(err, "memory|filesystem|memrb"), "a storage.type Fluent Bit refuses stays an error: %s", err);
	config_free(&cfg);
	ok(load("[INPUT]\n    name http\n    tls on\n", &cfg, err) < 0 && strstr(err, "tls on") && strstr(err, "not supported"),
	   "tls on for an input without TLS is refused: %s", err);
	config_free(&cfg);
	ok(load("[INPUT]\n    name dummy\n    http_server.workers 4\n", &cfg, err) < 0 && strstr(err, "unknown key"),
	   "an HTTP-listener key on dummy is unknown, as in Fluent Bit: %.80s", err);
	config_free(&cfg);
	ok(load("[FILTER]\n    name lua\n    match *\n", &cfg, err) < 0 && strstr(err, "t.conf:2:") && strstr(err, "'lua'") &&
	   strstr(err, "fluentBit"), "another filter names itself and the Vivo CR's fluentBit pipeline: %s", err);
	config_free(&cfg);
	ok(load("[FILTER]\n    name grep\n    match *\n    regex log x\n", &cfg, err) == 0 && cfg.filters,
	   "a grep filter loads (%s)", err);
	config_free(&cfg);
	ok(load("[PARSER]\n    name p\n    format regex\n    regex (?<a>[\n", &cfg, err) < 0 && strstr(err, "parser 'p'"),
	   "a parser whose regex does not compile is an error: %s", err);
	config_free(&cfg);
	ok(load("[MULTILINE_PARSER]\n    name m\n    type regex\n    rule \"start_state\" \"/a/\" \"cont\"\n", &cfg, err) == 0,
	   "a multiline parser loads (%s)", err);
	config_free(&cfg);
	return tap_done();
}

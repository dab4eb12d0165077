/* in_otlp/decode.h: OTLP export requests (protobuf or JSON) to Vivo chunks: logs records,
 * cmetrics-shaped metrics lines and ctraces-shaped traces lines (spec agent.md 3.3-3.5, 4.3). */
#ifndef VIVO_OTLP_DECODE_H
#define VIVO_OTLP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum otlp_signal { OTLP_LOGS, OTLP_METRICS, OTLP_TRACES };
enum otlp_format { OTLP_PROTOBUF, OTLP_JSON };

/* The stream a signal goes to. */
enum stream_kind otlp_stream(enum otlp_signal sig);

/* Decode one Export{Logs,Metrics,Trace}ServiceRequest body (already decompressed) and add
 * what it holds to `cb`, which the caller initialised empty for otlp_stream(sig):
 * - logs: one record per LogRecord (metadata {"otlp":{...}}, body a map) and, when every
 *   record shares one resource and scope, the v1 member "otlp":{"resource","scope"};
 * - metrics: one line per (resource, scope) holding at least one metric;
 * - traces: one line for the whole request (when it holds at least one span).
 * `now_ns` stamps log records that carry no time. *records gets the count of log records,
 * data points or spans. Returns 0; -EINVAL for a bad request with a one-line reason in
 * `err`; -ENOSPC when the output outgrows the builder's limit; -ENOMEM. On error the
 * builder may hold part of the request: the caller frees it without appending. An empty
 * request leaves the builder empty (nothing to append). */
int otlp_decode(enum otlp_signal sig, enum otlp_format fmt, const char *body, size_t n, int64_t now_ns,
		struct chunk_builder *cb, uint64_t *records, char *err, size_t errlen);

#endif

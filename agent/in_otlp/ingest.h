/* in_otlp/ingest.h: what the OTLP/HTTP side (server.c) and the OTLP/gRPC side (grpc.c) share. */
#ifndef VIVO_OTLP_INGEST_H
#define VIVO_OTLP_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "httpd.h"
#include "input.h"

/* The collector services' Export methods (opentelemetry-proto collector/{logs,metrics,trace}/v1). */
#define OTLP_GRPC_LOGS "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
#define OTLP_GRPC_METRICS "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define OTLP_GRPC_TRACES "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

/* "logs", "metrics", "traces", by enum otlp_signal. */
extern const char *const otlp_signal_names[];

/* Decode one export request (already decompressed) and store it as one chunk of its
 * signal, tagged as the input says; counts its records. 0; -EINVAL with a reason in
 * `err`; -ENOSPC over the chunk limit; -ENOMEM or the store's error. *records gets the
 * log records, data points or spans. Logs and counts no error itself. */
int otlp_ingest(struct input_instance *in, enum otlp_signal sig, enum otlp_format fmt, const char *body,
		size_t n, uint64_t *records, char *err, size_t errlen);

/* gRPC handlers of the three Export methods (ctx = the input instance). */
enum MHD_Result otlp_grpc_logs(struct httpd_req *r, void *ctx);
enum MHD_Result otlp_grpc_metrics(struct httpd_req *r, void *ctx);
enum MHD_Result otlp_grpc_traces(struct httpd_req *r, void *ctx);

#endif

// app.js: an app instrumented with the official OpenTelemetry JS SDK that exports to vivo-agent
// over OTLP/HTTP or OTLP/gRPC. Usage: node app.js BASE_URL proto|json|grpc. It sends one
// trace (nested spans, events, a link, an error status), metrics (counter, up-down counter,
// gauge, histogram) and logs (attributes, trace context, string and map bodies), then prints
// what it sent as JSON. With grpc the exporters are the SDK's gRPC ones (@grpc/grpc-js, h2c).
'use strict';

const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');

const [base, protocol] = process.argv.slice(2);
const grpc = protocol === 'grpc';
const proto = protocol === 'proto' || grpc; /* protobuf on the wire, cumulative metrics */
const pkg = grpc ? 'grpc' : proto ? 'proto' : 'http';
/* The gRPC exporters take the server's address; the HTTP ones the signal's URL. */
const url = (path) => (grpc ? base : base + path);
const { OTLPTraceExporter } = require(`@opentelemetry/exporter-trace-otlp-${pkg}`);
const { OTLPMetricExporter } = require(`@opentelemetry/exporter-metrics-otlp-${pkg}`);
const { OTLPLogExporter } = require(`@opentelemetry/exporter-logs-otlp-${pkg}`);
const { AggregationTemporalityPreference } = require('@opentelemetry/exporter-metrics-otlp-http');

async function main() {
	const resource = resourceFromAttributes({
		'service.name': 'shop-' + protocol,
		'service.version': '2.3.4',
		'deployment.replicas': 3,
	});
	const sent = { protocol, service: 'shop-' + protocol };

	// Traces: GET /cart (server) > charge (client, error) > db.query (internal), all in one export.
	const tp = new BasicTracerProvider({
		resource,
		spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: url('/v1/traces') }))],
	});
	const tracer = tp.getTracer('shop-tracer', '1.0.1');
	const t0 = Date.now();
	const root = tracer.startSpan('GET /cart', {
		kind: api.SpanKind.SERVER,
		attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'cart.total': 42.5, 'cart.ok': true, 'cart.skus': ['a', 'b'] },
		startTime: t0,
	});
	const rootCtx = api.trace.setSpan(api.ROOT_CONTEXT, root);
	const child = tracer.startSpan('charge', { kind: api.SpanKind.CLIENT, attributes: { 'payment.provider': 'acme' }, startTime: t0 + 10 }, rootCtx);
	const childCtx = api.trace.setSpan(api.ROOT_CONTEXT, child);
	const grand = tracer.startSpan('db.query', {
		kind: api.SpanKind.INTERNAL,
		attributes: { 'db.system': 'postgresql', 'db.rows': 7 },
		links: [{ context: root.spanContext(), attributes: { 'link.reason': 'retry-of' } }],
		startTime: t0 + 12,
	}, childCtx);
	grand.addEvent('rows fetched', { 'db.rows': 7 }, t0 + 15);
	grand.end(t0 + 20);
	child.addEvent('retrying', { attempt: 2 }, t0 + 21);
	child.recordException({ name: 'PaymentDeclined', message: 'card declined' }, t0 + 30);
	child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' });
	child.end(t0 + 40);
	root.setStatus({ code: api.SpanStatusCode.OK });
	root.end(t0 + 50);
	sent.trace_id = root.spanContext().traceId;
	sent.spans = {
		root: root.spanContext().spanId,
		child: child.spanContext().spanId,
		grand: grand.spanContext().spanId,
	};
	sent.t0_ms = t0;
	await tp.forceFlush();
	await tp.shutdown();

	// Metrics: cumulative over protobuf, delta over JSON.
	const reader = new PeriodicExportingMetricReader({
		exporter: new OTLPMetricExporter({
			url: url('/v1/metrics'),
			temporalityPreference: proto ? AggregationTemporalityPreference.CUMULATIVE : AggregationTemporalityPreference.DELTA,
		}),
		exportIntervalMillis: 600000,
	});
	const mp = new MeterProvider({ resource, readers: [reader] });
	const meter = mp.getMeter('shop-meter', '0.0.7');
	const counter = meter.createCounter('orders', { description: 'Orders placed', unit: '{order}' });
	counter.add(5, { region: 'eu', paid: true });
	counter.add(2, { region: 'us', paid: false });
	const updown = meter.createUpDownCounter('queue.depth', { description: 'Jobs waiting' });
	updown.add(9, { queue: 'mail' });
	updown.add(-4, { queue: 'mail' });
	const gauge = meter.createGauge('temperature', { description: 'Room temperature', unit: 'Cel' });
	gauge.record(21.5, { room: 'lab' });
	const hist = meter.createHistogram('latency', { description: 'Request latency', unit: 'ms', advice: { explicitBucketBoundaries: [10, 100, 1000] } });
	for (const v of [5, 50, 60, 500, 5000])
		hist.record(v, { route: '/cart' });
	await mp.shutdown(); /* exports once more, then stops */

	// Logs: inside the child span's context, one string body and one map body.
	const lp = new LoggerProvider({
		resource,
		processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: url('/v1/logs') }) })],
	});
	const logger = lp.getLogger('shop-logger', '3.2.1');
	logger.emit({
		severityNumber: SeverityNumber.WARN,
		severityText: 'WARN',
		body: 'payment retry scheduled',
		attributes: { 'order.id': 'A-17', attempt: 2, amount: 9.75 },
		timestamp: t0 + 60,
		context: childCtx,
	});
	logger.emit({
		severityNumber: SeverityNumber.ERROR,
		severityText: 'ERROR',
		body: { event: 'payment_failed', code: 402, tags: ['card', 'declined'] },
		attributes: { retry: false },
		timestamp: t0 + 70,
		context: rootCtx,
	});
	await lp.forceFlush();
	await lp.shutdown();
	process.stdout.write(JSON.stringify(sent) + '\n');
}

main().catch((e) => {
	process.stderr.write(String(e && e.stack || e) + '\n');
	process.exit(1);
});

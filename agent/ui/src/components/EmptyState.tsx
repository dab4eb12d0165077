// The empty state: copyable commands that send data to this agent, using its ports from /api/v1/info.

import type { StreamName } from '../api';
import { info } from '../state';
import { CopyButton } from './CopyButton';

const DEFAULT_PORTS = { http: 9010, forward: 9000, otlp: 4318 };

function host(): string {
  const h = location.hostname || '127.0.0.1';
  return h.includes(':') ? `[${h}]` : h;
}

const OTLP_SPAN = (now: number) =>
  JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'demo' } }] },
      scopeSpans: [{
        scope: { name: 'curl' },
        spans: [{
          traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'GET /hello', kind: 2,
          startTimeUnixNano: String(now * 1e6), endTimeUnixNano: String((now + 120) * 1e6),
        }],
      }],
    }],
  });

/** Ports to show: the agent's (from /api/v1/info), the defaults where it has none; 0 means "input off". */
function ports(): { http: number; forward: number; otlp: number; off: string[] } {
  const given = info.value?.ports ?? {};
  const out = { ...DEFAULT_PORTS, off: [] as string[] };
  for (const k of ['http', 'forward', 'otlp'] as const) {
    const v = given[k];
    if (typeof v === 'number' && v > 0) out[k] = v;
    else if (v === 0) out.off.push(k);
  }
  return out;
}

const INPUT_NAMES: Record<string, string> = { http: 'HTTP', forward: 'Forward', otlp: 'OTLP/HTTP' };

export function commandsFor(stream: StreamName): { title: string; cmd: string }[] {
  const p = ports();
  const h = host();
  const otlpBase = `http://${h}:${p.otlp}`;
  if (stream === 'logs') {
    return [
      { title: 'Send one record with curl', cmd: `curl -XPOST -H 'Content-Type: application/json' -d '{"hello":"vivo"}' http://${h}:${p.http}/app.web` },
      { title: 'Or forward from Fluent Bit', cmd: `fluent-bit -i cpu -o forward://${h}:${p.forward}` },
    ];
  }
  if (stream === 'metrics') {
    return [
      { title: 'Forward metrics from Fluent Bit', cmd: `fluent-bit -i fluentbit_metrics -o forward://${h}:${p.forward}` },
      { title: 'Or export OTLP/HTTP (an OpenTelemetry SDK, the Collector)', cmd: `OTEL_EXPORTER_OTLP_ENDPOINT=${otlpBase} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` },
    ];
  }
  return [
    { title: 'Send one span with curl (OTLP/JSON)', cmd: `curl -XPOST -H 'Content-Type: application/json' ${otlpBase}/v1/traces -d '${OTLP_SPAN(Date.now())}'` },
    { title: 'Or point an OpenTelemetry SDK at this agent', cmd: `OTEL_EXPORTER_OTLP_ENDPOINT=${otlpBase} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` },
  ];
}

export function EmptyState({ stream, loading }: { stream: StreamName; loading: boolean }) {
  if (loading) return <div class="empty"><p class="muted">Connecting to the agent…</p></div>;
  return (
    <div class="empty" data-testid="empty-state">
      <h2>No {stream} yet</h2>
      <p class="muted">This view fills live as soon as something sends {stream} to this agent.</p>
      {ports().off.length ? (
        <p class="warn-text small">
          Not enabled on this agent: {ports().off.map((k) => INPUT_NAMES[k]).join(', ')} input (the commands show the default port).
        </p>
      ) : null}
      {commandsFor(stream).map((c) => (
        <div class="cmd" key={c.title}>
          <div class="cmd-title">{c.title}</div>
          <div class="cmd-row">
            <code>{c.cmd}</code>
            <CopyButton text={c.cmd} />
          </div>
        </div>
      ))}
    </div>
  );
}

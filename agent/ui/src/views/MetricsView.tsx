// The Metrics tab: one card per metric (search, type filter, sparkline) and the opened metric's charts and series table.

import { signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { Chart, type ChartSeries } from '../components/Chart';
import { EmptyState } from '../components/EmptyState';
import { Sparkline } from '../components/Sparkline';
import { viewKeys } from '../keys';
import { fmtDateTime, fmtNum, PALETTE, plural } from '../lib/format';
import { JsonView } from '../components/JsonView';
import {
  counterRate,
  intervalQuantile,
  perBucket,
  stats,
  typeName,
  TYPE_NAMES,
  type Family,
  type Point,
  type Series,
} from '../lib/metrics';
import { loaded, metricQuery, metricStore, metricsVersion, metricType, openMetric, selectedCard, showRaw, utc } from '../state';

/** Series hidden in the opened metric's chart (by key). */
const hiddenSeries = signal<Set<string>>(new Set());

function seriesValues(f: Family, s: Series, raw: boolean): Point[] {
  return f.type === 0 && !raw ? counterRate(s.points) : s.points;
}

function lastOf(f: Family): { text: string; spark: number[] } {
  // The busiest series (largest last value) stands for the metric on its card.
  let best: Series | null = null;
  let bestV = -Infinity;
  for (const s of f.series.values()) {
    const v = s.points[s.points.length - 1]?.v ?? -Infinity;
    if (best === null || v > bestV) {
      best = s;
      bestV = v;
    }
  }
  if (!best) return { text: '–', spark: [] };
  const vals = seriesValues(f, best, false).slice(-60).map((p) => p.v);
  const last = best.points[best.points.length - 1];
  let text = best.exact ?? fmtNum(last?.v ?? NaN);
  if (f.type === 0) {
    const r = vals[vals.length - 1];
    text = `${text}${r !== undefined ? ` · ${fmtNum(r)}/s` : ''}`;
  } else if (f.type === 2 || f.type === 3) text = `${text} obs.`;
  return { text, spark: f.type === 0 ? vals : f.type === 2 || f.type === 3 ? best.points.slice(-60).map((p) => p.v) : vals };
}

function matchingFamilies(): Family[] {
  const q = metricQuery.value.trim().toLowerCase();
  const t = metricType.value;
  const out: Family[] = [];
  for (const f of metricStore.families.values()) {
    if (t && typeName(f.type) !== t) continue;
    if (q && !f.name.toLowerCase().includes(q) && !f.desc.toLowerCase().includes(q)) continue;
    out.push(f);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function Card({ f, selected }: { f: Family; selected: boolean }) {
  const { text, spark } = lastOf(f);
  return (
    <button
      type="button"
      class={`card${selected ? ' sel' : ''}`}
      data-metric={f.name}
      onClick={() => {
        openMetric.value = f.name;
        hiddenSeries.value = new Set();
      }}
    >
      <div class="card-head">
        <span class="card-name" title={f.name}>{f.name}</span>
        <span class={`type type-${typeName(f.type)}`}>{typeName(f.type)}</span>
      </div>
      <div class="card-desc" title={f.desc}>{f.desc || ' '}</div>
      <div class="card-foot">
        <span class="card-value">{text}</span>
        <Sparkline values={spark} />
      </div>
      <div class="card-series muted">{plural(f.series.size, 'series', 'series')}{f.unit ? ` · ${f.unit}` : ''}</div>
    </button>
  );
}

function labelText(s: Series): string {
  return s.labels.length ? s.labels.map(([k, v]) => `${k}=${v}`).join(', ') : '(no labels)';
}

function SeriesTable({ f, rows }: { f: Family; rows: { s: Series; values: number[]; color: string }[] }) {
  const hidden = hiddenSeries.value;
  return (
    <table class="series">
      <thead>
        <tr><th /><th>series</th><th>min</th><th>max</th><th>last</th></tr>
      </thead>
      <tbody>
        {rows.map(({ s, values, color }) => {
          const st = stats(values);
          return (
            <tr key={s.key}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`show ${labelText(s)}`}
                  checked={!hidden.has(s.key)}
                  onChange={() => {
                    const h = new Set(hidden);
                    if (h.has(s.key)) h.delete(s.key);
                    else h.add(s.key);
                    hiddenSeries.value = h;
                  }}
                  style={{ accentColor: color }}
                />
              </td>
              <td>
                <span class="swatch" style={{ background: color }} />
                {s.labels.length ? s.labels.map(([k, v]) => <span class="lchip" key={k}><b>{k}</b>={v}</span>) : <span class="muted">(no labels)</span>}
              </td>
              <td class="num">{fmtNum(st.min)}</td>
              <td class="num">{fmtNum(st.max)}</td>
              <td class="num">{f.type !== 0 || showRaw.value ? (s.exact ?? fmtNum(st.last)) : fmtNum(st.last)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function HistogramPanel({ f, s }: { f: Family; s: Series }) {
  const h = s.hist;
  const last = h[h.length - 1];
  if (!last) return null;
  const quantiles = [0.5, 0.9, 0.99];
  const qSeries: ChartSeries[] = quantiles.map((q, qi) => ({
    label: `p${Math.round(q * 100)}`,
    color: PALETTE[qi],
    points: h.map((p, i) => ({ t: p.t, v: intervalQuantile(q, f.bounds, h[i - 1], p) })),
  }));
  const counts = perBucket(last.cum);
  const maxC = Math.max(1, ...counts);
  const labels = [...f.bounds.map((b) => `≤ ${fmtNum(b)}`), '+Inf'];
  return (
    <div class="hist">
      <h4>Quantiles per interval (as Prometheus' histogram_quantile estimates them) — {labelText(s)}</h4>
      <Chart series={qSeries} utc={utc.value} unit={f.unit} height={220} />
      <h4>Buckets at {fmtDateTime(last.t, utc.value)}: {fmtNum(last.count)} observations, sum {fmtNum(last.sum)}</h4>
      <div class="bars" data-testid="buckets">
        {counts.map((c, i) => (
          <div class="bar-row" key={labels[i]}>
            <span class="bar-label">{labels[i]}</span>
            <span class="bar" style={{ width: `${(c / maxC) * 100}%` }} />
            <span class="bar-count">{fmtNum(c)}</span>
          </div>
        ))}
      </div>
    </div>
  );
}

function MetricDetail({ f }: { f: Family }) {
  const raw = showRaw.value;
  const all = [...f.series.values()];
  const rows = all.map((s, i) => ({
    s,
    values: (f.type === 3 ? s.points : seriesValues(f, s, raw)).map((p) => p.v),
    color: PALETTE[i % PALETTE.length],
  }));
  const hidden = hiddenSeries.value;
  let chartSeries: ChartSeries[];
  if (f.type === 3) {
    // Summaries: one line per quantile of each shown series.
    chartSeries = [];
    all.forEach((s, si) => {
      if (hidden.has(s.key)) return;
      f.quantiles.forEach((q, qi) => {
        chartSeries.push({
          label: `q${q}${all.length > 1 ? ` ${labelText(s)}` : ''}`,
          color: PALETTE[(si * f.quantiles.length + qi) % PALETTE.length],
          points: s.summary.map((p) => ({ t: p.t, v: p.q[qi] })),
        });
      });
    });
  } else {
    chartSeries = all
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => !hidden.has(s.key))
      .map(({ s, i }) => ({ label: labelText(s), color: PALETTE[i % PALETTE.length], points: seriesValues(f, s, raw) }));
  }
  const firstShown = all.find((s) => !hidden.has(s.key));
  const what = f.type === 0 ? (raw ? 'value (raw counter)' : 'rate per second (reset-aware)') : f.type === 2 ? 'observations (count)' : f.type === 3 ? 'quantiles' : 'value';
  return (
    <div class="metric-detail" data-testid="metric-detail">
      <div class="detail-head">
        <button type="button" class="btn btn-small" onClick={() => (openMetric.value = null)} title="All metrics (Esc)">← All metrics</button>
        <h3>{f.name}</h3>
        <span class={`type type-${typeName(f.type)}`}>{typeName(f.type)}</span>
        {f.type === 0 ? (
          <label class="toggle">
            <input type="checkbox" checked={raw} onChange={() => (showRaw.value = !raw)} /> raw values
          </label>
        ) : null}
      </div>
      {f.desc ? <p class="muted">{f.desc}{f.unit ? ` (${f.unit})` : ''}</p> : null}
      <h4>{what}</h4>
      {chartSeries.length ? <Chart series={chartSeries} utc={utc.value} unit={f.type === 0 && !raw ? '/s' : f.type === 2 || f.type === 3 ? (f.type === 3 ? f.unit : '') : f.unit} /> : <p class="muted">Every series is hidden.</p>}
      {f.type === 0 && !raw && all.every((s) => s.points.length < 2) ? <p class="muted">A rate needs two samples; showing it from the next one (or tick "raw values").</p> : null}
      {f.type === 2 && firstShown ? <HistogramPanel f={f} s={firstShown} /> : null}
      <h4>{plural(all.length, 'series', 'series')}</h4>
      <SeriesTable f={f} rows={rows} />
      {f.external ? (
        <details class="external">
          <summary>Resource, scope and producer details</summary>
          <JsonView value={f.external} />
        </details>
      ) : null}
    </div>
  );
}

export function MetricsView() {
  metricsVersion.value;
  const search = useRef<HTMLInputElement>(null);
  const fams = matchingFamilies();
  const open = openMetric.value ? metricStore.families.get(openMetric.value) : undefined;
  const sel = Math.min(selectedCard.value, Math.max(0, fams.length - 1));

  useEffect(() => {
    viewKeys.current = {
      next: () => (selectedCard.value = Math.min(fams.length - 1, selectedCard.peek() + 1)),
      prev: () => (selectedCard.value = Math.max(0, Math.min(fams.length - 1, selectedCard.peek()) - 1)),
      first: () => (selectedCard.value = 0),
      last: () => (selectedCard.value = fams.length - 1),
      open: () => {
        const f = fams[Math.min(selectedCard.peek(), fams.length - 1)];
        if (f) openMetric.value = f.name;
      },
      close: () => {
        if (openMetric.value) {
          openMetric.value = null;
          return true;
        }
        return false;
      },
      searchBox: () => search.current,
    };
    document.querySelector('.card.sel')?.scrollIntoView({ block: 'nearest' });
  });

  if (metricStore.families.size === 0) {
    return (
      <div class="view metrics">
        <EmptyState stream="metrics" loading={!loaded.value.metrics} />
      </div>
    );
  }
  if (openMetric.value && open) {
    return (
      <div class="view metrics scroll">
        <MetricDetail f={open} />
      </div>
    );
  }
  return (
    <div class="view metrics scroll">
      <div class="toolbar">
        <div class="filter">
          <input
            ref={search}
            data-search
            type="search"
            placeholder="Search metrics by name or description   ( / )"
            value={metricQuery.value}
            onInput={(e) => (metricQuery.value = (e.target as HTMLInputElement).value)}
          />
          <select value={metricType.value} onChange={(e) => (metricType.value = (e.target as HTMLSelectElement).value)} aria-label="Metric type">
            <option value="">all types</option>
            {TYPE_NAMES.map((t) => (
              <option key={t} value={t}>{t}</option>
            ))}
          </select>
          <span class="count">{plural(fams.length, 'metric')}</span>
        </div>
      </div>
      {openMetric.value && !open ? <p class="muted pad">Metric “{openMetric.value}” has not arrived (yet).</p> : null}
      <div class="cards">
        {fams.map((f, i) => (
          <Card key={f.name} f={f} selected={i === sel} />
        ))}
      </div>
    </div>
  );
}

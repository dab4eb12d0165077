// A time-series chart on uPlot: one line per series, themed from CSS custom properties, local or UTC axis.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtDateTime, fmtNum } from '../lib/format';
import type { Point } from '../lib/metrics';

export interface ChartSeries {
  label: string;
  color: string;
  points: Point[];
  dash?: boolean;
}

/** Aligns several series on the union of their times (ms), null where a series has no point. */
export function align(series: Point[][]): { xs: number[]; ys: (number | null)[][] } {
  const set = new Set<number>();
  for (const s of series) for (const p of s) set.add(p.t);
  const xs = [...set].sort((a, b) => a - b);
  const pos = new Map(xs.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of s) y[pos.get(p.t)!] = Number.isFinite(p.v) ? p.v : null;
    return y;
  });
  return { xs, ys };
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

interface Props {
  series: ChartSeries[];
  height?: number;
  utc: boolean;
  unit?: string;
}

export function Chart({ series, height = 260, utc, unit }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}|${s.color}|${s.dash ? 1 : 0}`).join('\n') + `|${utc}`;
  const { xs, ys } = align(series.map((s) => s.points));
  const data: uPlot.AlignedData = [xs.map((t) => t / 1000), ...ys];

  useEffect(() => {
    const el = box.current!;
    const axis = (): uPlot.Axis => ({
      stroke: () => cssVar('--fg-dim'),
      grid: { stroke: () => cssVar('--grid'), width: 1 },
      ticks: { stroke: () => cssVar('--grid'), width: 1 },
    });
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height,
      tzDate: utc ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : (ts) => new Date(ts * 1000),
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [
        { ...axis(), space: 90 },
        { ...axis(), size: 64, values: (_u, vals) => vals.map((v) => fmtNum(v) + (unit ? ` ${unit}` : '')) },
      ],
      series: [
        { label: 'time', value: (_u, v) => (v === null ? '–' : fmtDateTime(v * 1000, utc)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          dash: s.dash ? [4, 3] : undefined,
          spanGaps: true,
          points: { show: xs.length < 60, size: 4 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmtNum(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return <div class="chart" ref={box} data-points={xs.length} data-series={series.length} />;
}

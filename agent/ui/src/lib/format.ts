// Formatting helpers shared by the views: times (local or UTC), byte sizes, numbers, stable colours.

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** HH:MM:SS.mmm in local time or UTC. */
export function fmtTime(ms: number, utc: boolean): string {
  if (!Number.isFinite(ms)) return '--:--:--.---';
  const d = new Date(ms);
  return utc
    ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
    : `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** YYYY-MM-DD HH:MM:SS.mmm (with "Z" in UTC). */
export function fmtDateTime(ms: number, utc: boolean): string {
  if (!Number.isFinite(ms)) return 'unknown time';
  const d = new Date(ms);
  const date = utc
    ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${fmtTime(ms, utc)}${utc ? 'Z' : ''}`;
}

/** Decimal byte sizes, like the agent's stream_queue_size units. */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

/** A compact number: 1234 -> 1,234; 0.000123 -> 1.23e-4; 12345678 -> 12.3M. */
export function fmtNum(v: number): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return Math.round(v).toLocaleString('en-US');
  if (a >= 1) return String(+v.toPrecision(4));
  if (a >= 1e-3) return String(+v.toPrecision(3));
  return v.toExponential(2);
}

/** Rate for badges: 0, 0.4/s, 12/s, 3.4k/s. */
export function fmtRate(perSec: number): string {
  if (!(perSec > 0)) return '0/s';
  if (perSec < 10) return `${perSec.toFixed(1).replace(/\.0$/, '')}/s`;
  if (perSec < 1000) return `${Math.round(perSec)}/s`;
  return `${(perSec / 1000).toFixed(1)}k/s`;
}

/** FNV-1a hash of a string, for stable colours. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// Ten hues spaced for distinctness; the lightness comes from CSS (light vs dark theme).
const HUES = [210, 140, 30, 280, 0, 180, 320, 45, 250, 100];

/** A stable hue for a name (tag, service, span name). */
export function hueFor(name: string): number {
  return HUES[hashString(name) % HUES.length];
}

/** Series colours for charts (work on light and dark backgrounds). */
export const PALETTE = ['#3b82f6', '#22c55e', '#f59e0b', '#a855f7', '#ef4444', '#06b6d4', '#ec4899', '#84cc16', '#6366f1', '#14b8a6'];

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

// Where a chunk came from when this agent followed it from another one (the vivo input): instance, boot, pod.

import { isObject, type Json } from './json';

export interface Source {
  /** host:port of the upstream exporter as the follower dialled it. */
  instance: string;
  bootId: string;
  pod: string;
  namespace: string;
  node: string;
}

const str = (v: Json | undefined): string => (typeof v === 'string' ? v : '');

/** The `source` object of a v1 chunk (or `_source` of a legacy record's metadata); null when absent. */
export function parseSource(v: Json | undefined): Source | null {
  if (!isObject(v) || typeof v.instance !== 'string') return null;
  return { instance: v.instance, bootId: str(v.boot_id), pod: str(v.pod), namespace: str(v.namespace), node: str(v.node) };
}

/** The source column's text: the pod, or the instance when no pod is known; '' for local records. */
export function sourceLabel(s: Source | null): string {
  return s ? s.pod || s.instance : '';
}

/** What a `source:` filter term is tested against: pod, instance, namespace/pod, node; "local" for local records. */
export function sourceValues(s: Source | null): string[] {
  if (!s) return ['local'];
  const out = [s.instance];
  if (s.pod) out.push(s.pod, s.namespace ? `${s.namespace}/${s.pod}` : s.pod);
  if (s.node) out.push(s.node);
  return out;
}

/** One upstream as /api/v1/info lists it under "sources". */
export interface UpstreamInfo {
  input?: string;
  upstream: string;
  url?: string;
  discovered_by?: string | null;
  state: string;
  gone?: boolean;
  boot_id?: string | null;
  pod?: string | null;
  namespace?: string | null;
  node?: string | null;
  lag_chunks?: number;
  lag_seconds?: number;
  chunks?: number;
  records?: number;
  bytes?: number;
  errors?: number;
  missed?: number;
  last_error?: string | null;
}

/** Records per second of each upstream from two readings of /api/v1/info `t` ms apart. */
export function upstreamRates(prev: UpstreamInfo[] | null, cur: UpstreamInfo[], ms: number): Record<string, number> {
  const out: Record<string, number> = {};
  const before = new Map((prev ?? []).map((u) => [`${u.upstream}|${u.boot_id ?? ''}`, u.records ?? 0]));
  for (const u of cur) {
    const was = before.get(`${u.upstream}|${u.boot_id ?? ''}`);
    const now = u.records ?? 0;
    // A new upstream, a new run of one, or a restarted follower: no rate until the next reading.
    out[u.upstream] = was === undefined || now < was || ms <= 0 ? 0 : ((now - was) * 1000) / ms;
  }
  return out;
}

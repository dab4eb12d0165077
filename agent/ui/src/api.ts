// Talking to the agent: follow a stream with from=<Next-ID>&wait=... long-polls, reconnect with backoff, detect restarts.

import { splitLines } from './lib/json';
import type { UpstreamInfo } from './lib/source';

export type StreamName = 'logs' | 'metrics' | 'traces';

export type ConnState = 'loading' | 'live' | 'reconnecting' | 'error';

export interface Batch {
  stream: StreamName;
  /** Non-empty lines of the body, in order. */
  lines: string[];
  /** First and last chunk ID in the body (null when the agent did not say). */
  startId: number | null;
  endId: number | null;
  nextId: number;
  /** Bumped each time the agent's IDs began again (a restart). */
  session: number;
  /** The first read of a session (what the buffer already held), not live arrivals. */
  initial: boolean;
}

export interface StreamInfo {
  chunks?: number;
  oldest_id?: number;
  next_id?: number;
  bytes_used?: number;
  bytes_max?: number;
  evicted?: number;
}

export interface AgentInfo {
  program?: string;
  version?: string;
  ports?: Partial<Record<'ui' | 'forward' | 'http' | 'exporter' | 'otlp' | 'ops', number>>;
  streams?: Partial<Record<StreamName, StreamInfo>>;
  /** Identifies one run of the agent, when provided (boot_id, or a start time). */
  boot_id?: string;
  start_time?: number | string;
  started_at?: number | string;
  /** This agent's pod, namespace and node when it runs in Kubernetes. */
  pod?: string;
  namespace?: string;
  node?: string;
  /** The agents this one follows (the vivo input), with their state, counters and lag. */
  sources?: UpstreamInfo[];
}

export const WAIT_SECONDS = 25;
/** How often a stream that is not on screen is asked for news (no long-poll). */
export const IDLE_POLL_MS = 2000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 5000];

function headerInt(h: Headers, name: string): number | null {
  const v = h.get(name);
  if (v === null || !/^\d+$/.test(v.trim())) return null;
  return Number(v.trim());
}

/** Identity of one agent run from /api/v1/info, or null when the agent does not provide one. */
export function bootIdentity(info: AgentInfo | null): string | null {
  if (!info) return null;
  const v = info.boot_id ?? info.start_time ?? info.started_at;
  return v === undefined || v === null ? null : String(v);
}

export async function fetchInfo(signal?: AbortSignal): Promise<AgentInfo | null> {
  try {
    const res = await fetch(`${apiBase()}api/v1/info`, { cache: 'no-store', signal });
    if (!res.ok) return null;
    return (await res.json()) as AgentInfo;
  } catch {
    return null;
  }
}

/**
 * Base path of the API. The page is served at /, /vivo/ and /vivo/<tab>, possibly behind a
 * proxy prefix; the API lives at <prefix>/api/v1/.
 */
export function apiBase(path = location.pathname): string {
  const base = path.replace(/[^/]*\.html$/, '').replace(/(?:vivo\/?)?(?:logs|metrics|traces)?\/?$/, '');
  return base.endsWith('/') ? base : `${base}/`;
}

export interface FollowerHooks {
  onBatch(b: Batch): void;
  onState(s: ConnState, detail: string): void;
  /** The stream's IDs began again (agent restarted): forget per-session assumptions. */
  onSession?(session: number): void;
  /** Asked after a connection failure: has the agent restarted? (compares boot identities) */
  restarted?(): Promise<boolean>;
}

/**
 * Follows one stream: a first read (from `from`, or everything), then long-polls with
 * from=<Next-ID>&wait=25, so no chunk is downloaded twice. Network errors and 5xx retry with
 * backoff ("reconnecting"); a Next-ID lower than the `from` asked for means the agent
 * restarted, and reading begins again at 0 as a new session.
 *
 * Only the stream on screen long-polls; the others ask every few seconds without waiting.
 * A browser allows about six connections to one host, so three held requests per page would
 * stall a second Vivo tab.
 */
export class Follower {
  next: number | null;
  session = 0;
  private stopped = false;
  private ctrl: AbortController | null = null;
  private attempt = 0;
  private active = false;
  private switching = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly stream: StreamName,
    private hooks: FollowerHooks,
    from: number | null = null,
  ) {
    this.next = from;
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.ctrl?.abort();
    this.wake?.();
  }

  /** On screen: long-poll. Off screen: short polls every IDLE_POLL_MS. */
  setActive(on: boolean): void {
    if (on === this.active) return;
    this.active = on;
    if (on) this.wake?.();
    else if (this.ctrl && this.waiting) {
      // Give the held connection back at once.
      this.switching = true;
      this.ctrl.abort();
    }
  }

  private waiting = false;

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private newSession(): void {
    this.session++;
    this.next = 0;
    this.hooks.onSession?.(this.session);
  }

  private async loop(): Promise<void> {
    let first = true;
    let afterError = false;
    this.hooks.onState('loading', '');
    while (!this.stopped) {
      if (!first && !afterError && !this.active) await this.sleep(IDLE_POLL_MS);
      if (this.stopped) return;
      if (afterError && this.hooks.restarted && (await this.hooks.restarted())) {
        this.newSession();
      }
      // Re-check without waiting after an error, so a restarted agent (IDs back at 0) is seen at once.
      const wait = !first && !afterError && this.active;
      const params = new URLSearchParams();
      if (this.next !== null) params.set('from', String(this.next));
      if (wait) params.set('wait', String(WAIT_SECONDS));
      const url = `${apiBase()}api/v1/${this.stream}${params.size ? `?${params}` : ''}`;
      this.ctrl = new AbortController();
      this.waiting = wait;
      const timer = setTimeout(() => this.ctrl?.abort(), (wait ? WAIT_SECONDS + 15 : 60) * 1000);
      try {
        const res = await fetch(url, { cache: 'no-store', signal: this.ctrl.signal });
        const body = await res.text();
        clearTimeout(timer);
        this.waiting = false;
        if (!res.ok) {
          let msg = `HTTP ${res.status}`;
          try {
            const j = JSON.parse(body) as { error?: string };
            if (j.error) msg = `${msg}: ${j.error}`;
          } catch {
            /* not JSON */
          }
          throw new Error(msg);
        }
        const nextId = headerInt(res.headers, 'Vivo-Stream-Next-ID');
        const startId = headerInt(res.headers, 'Vivo-Stream-Start-ID');
        const endId = headerInt(res.headers, 'Vivo-Stream-End-ID');
        const asked = this.next;
        if (nextId !== null && asked !== null && nextId < asked) {
          // IDs went backwards: a new agent run. Read it from the beginning, right away.
          this.newSession();
          first = true;
          afterError = false;
          continue;
        }
        const lines = splitLines(body);
        const next = nextId ?? (endId !== null ? endId + 1 : (asked ?? 0));
        if (lines.length) this.hooks.onBatch({ stream: this.stream, lines, startId, endId, nextId: next, session: this.session, initial: first });
        this.next = next;
        this.attempt = 0;
        first = false;
        afterError = false;
        this.hooks.onState('live', '');
      } catch (e) {
        clearTimeout(timer);
        this.waiting = false;
        if (this.stopped) return;
        if (this.switching) {
          // Aborted on purpose (the stream left the screen): not an error.
          this.switching = false;
          continue;
        }
        const detail = e instanceof Error ? e.message : String(e);
        this.hooks.onState('reconnecting', detail);
        const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] * (0.8 + Math.random() * 0.4);
        this.attempt++;
        await this.sleep(delay);
        afterError = true;
      }
    }
  }
}

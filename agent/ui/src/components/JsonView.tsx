// Pretty, coloured JSON (big integers shown exactly) for detail panels.

import type { ComponentChildren } from 'preact';
import type { Json } from '../lib/json';

const INDENT = '  ';

function str(s: string): string {
  return JSON.stringify(s);
}

function render(v: Json | undefined, depth: number, out: ComponentChildren[]): void {
  if (v === null || v === undefined) {
    out.push(<span class="j-null">null</span>);
  } else if (typeof v === 'string') {
    out.push(<span class="j-str">{str(v)}</span>);
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    out.push(<span class="j-num">{typeof v === 'number' && !Number.isFinite(v) ? 'null' : v.toString()}</span>);
  } else if (typeof v === 'boolean') {
    out.push(<span class="j-bool">{String(v)}</span>);
  } else if (Array.isArray(v)) {
    if (!v.length) {
      out.push('[]');
      return;
    }
    const pad = INDENT.repeat(depth + 1);
    out.push('[\n');
    v.forEach((x, i) => {
      out.push(pad);
      render(x, depth + 1, out);
      out.push(i < v.length - 1 ? ',\n' : '\n');
    });
    out.push(`${INDENT.repeat(depth)}]`);
  } else {
    const keys = Object.keys(v);
    if (!keys.length) {
      out.push('{}');
      return;
    }
    const pad = INDENT.repeat(depth + 1);
    out.push('{\n');
    keys.forEach((k, i) => {
      out.push(pad, <span class="j-key">{str(k)}</span>, ': ');
      render(v[k], depth + 1, out);
      out.push(i < keys.length - 1 ? ',\n' : '\n');
    });
    out.push(`${INDENT.repeat(depth)}}`);
  }
}

export function JsonView({ value }: { value: Json | undefined }) {
  const out: ComponentChildren[] = [];
  render(value, 0, out);
  return <pre class="json">{out}</pre>;
}

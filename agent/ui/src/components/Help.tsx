// The keyboard shortcut and filter syntax overlay (opened with "?").

import { helpOpen } from '../state';

const KEYS: [string, string][] = [
  ['/', 'search / filter'],
  ['Esc', 'close panel, leave the search box'],
  ['j / k', 'next / previous row'],
  ['Enter', 'open the selected row'],
  ['space', 'pause / follow'],
  ['n / N', 'next / previous match (highlight mode)'],
  ['g / G', 'first / last row'],
  ['1 2 3', 'Logs, Metrics, Traces'],
  ['t', 'local time / UTC'],
  ['?', 'this help'],
];

const SYNTAX: [string, string][] = [
  ['timeout', 'plain text, any case'],
  ['"two words"', 'a phrase'],
  ['/err(or)?\\s\\d+/i', 'a regular expression'],
  ['level:error', 'a field equals (any case); dotted keys reach nested fields'],
  ['_tag:app*', 'wildcards * and ?; _tag is the record tag'],
  ['source:web-1', 'the agent a record was followed from: pod, instance (10.0.0.7:2025), namespace/pod, node; source:local for this one'],
  ['-level:debug', 'exclude; also -word'],
  ['msg:/^GET /', 'a field matches a regex'],
];

export function Help() {
  if (!helpOpen.value) return null;
  return (
    <div class="overlay" onClick={() => (helpOpen.value = false)}>
      <div class="dialog" role="dialog" aria-label="Keyboard shortcuts" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard</h2>
        <table class="kv">
          <tbody>
            {KEYS.map(([k, d]) => (
              <tr key={k}><td><kbd>{k}</kbd></td><td>{d}</td></tr>
            ))}
          </tbody>
        </table>
        <h2>Filter</h2>
        <table class="kv">
          <tbody>
            {SYNTAX.map(([k, d]) => (
              <tr key={k}><td><code>{k}</code></td><td>{d}</td></tr>
            ))}
          </tbody>
        </table>
        <p class="muted">Terms are combined with AND. An invalid expression is searched as plain text.</p>
        <button type="button" class="btn" onClick={() => (helpOpen.value = false)}>Close</button>
      </div>
    </div>
  );
}

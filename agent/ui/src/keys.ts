// Keyboard shortcuts: one document listener; the open view registers what j/k/Enter/n/N/g/G do.

import { flush } from './ingest';
import { detailOpen, helpOpen, openMetric, openTrace, paused, selectedSpan, tab, utc, type Tab } from './state';

export interface ViewKeys {
  next?(): void;
  prev?(): void;
  open?(): void;
  first?(): void;
  last?(): void;
  nextMatch?(): void;
  prevMatch?(): void;
  /** Esc: returns true when it closed something. */
  close?(): boolean;
  searchBox?(): HTMLInputElement | null;
}

/** The handlers of the view on screen (set by each view while it is mounted). */
export const viewKeys: { current: ViewKeys } = { current: {} };

export function togglePause(): void {
  paused.value = !paused.value;
  if (!paused.value) flush();
}

function typingIn(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable;
}

export function installKeys(): void {
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const v = viewKeys.current;
    if (e.key === 'Escape') {
      if (helpOpen.value) helpOpen.value = false;
      else if (typingIn(e.target)) (e.target as HTMLElement).blur();
      else if (v.close?.()) {
        /* the view closed its panel */
      } else if (detailOpen.value) detailOpen.value = false;
      else if (selectedSpan.value) selectedSpan.value = null;
      else if (openTrace.value) openTrace.value = null;
      else if (openMetric.value) openMetric.value = null;
      e.preventDefault();
      return;
    }
    if (typingIn(e.target)) {
      if (e.key === 'Enter' && (e.target as HTMLElement).dataset.search !== undefined) (e.target as HTMLElement).blur();
      return;
    }
    const act = (f?: () => void) => {
      if (!f) return;
      e.preventDefault();
      f();
    };
    switch (e.key) {
      case '/':
        act(() => v.searchBox?.()?.focus());
        break;
      case '?':
        act(() => (helpOpen.value = !helpOpen.value));
        break;
      case ' ':
        if ((e.target as HTMLElement)?.tagName === 'BUTTON') return;
        act(togglePause);
        break;
      case 'j':
      case 'ArrowDown':
        act(v.next);
        break;
      case 'k':
      case 'ArrowUp':
        act(v.prev);
        break;
      case 'Enter':
        act(v.open);
        break;
      case 'g':
        act(v.first);
        break;
      case 'G':
        act(v.last);
        break;
      case 'n':
        act(v.nextMatch);
        break;
      case 'N':
        act(v.prevMatch);
        break;
      case 't':
        act(() => (utc.value = !utc.value));
        break;
      case '1':
      case '2':
      case '3':
        act(() => (tab.value = (['logs', 'metrics', 'traces'] as Tab[])[Number(e.key) - 1]));
        break;
    }
  });
}

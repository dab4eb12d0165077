// A virtualised list of fixed-height rows: only the rows in view (plus a margin) are in the DOM.

import type { ComponentChildren, RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface VirtualListApi {
  /** Scrolls so row `i` is in view (centred when asked). */
  scrollToIndex(i: number, center?: boolean): void;
  scrollToEnd(): void;
}

interface Props {
  count: number;
  rowHeight: number;
  renderRow: (i: number) => ComponentChildren;
  /** Keep the end in view as rows arrive (auto-scroll). */
  follow?: boolean;
  /** Reports whether the user is at the end (scrolling up stops following). */
  onAtEnd?: (atEnd: boolean) => void;
  /** Changes whenever the rows' content may have changed. */
  version?: number;
  api?: RefObject<VirtualListApi | null>;
  class?: string;
  overscan?: number;
  label?: string;
}

export function VirtualList(props: Props) {
  const { count, rowHeight, overscan = 12 } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);

  useEffect(() => {
    const el = ref.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  if (props.api) {
    props.api.current = {
      scrollToIndex(i, center) {
        const el = ref.current;
        if (!el) return;
        const y = i * rowHeight;
        if (center) el.scrollTop = Math.max(0, y - el.clientHeight / 2 + rowHeight / 2);
        else if (y < el.scrollTop) el.scrollTop = y;
        else if (y + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = y + rowHeight - el.clientHeight;
        setTop(el.scrollTop);
      },
      scrollToEnd() {
        const el = ref.current;
        if (!el) return;
        el.scrollTop = el.scrollHeight;
        setTop(el.scrollTop);
      },
    };
  }

  // Following: stay at the end after each change.
  useLayoutEffect(() => {
    const el = ref.current;
    if (props.follow && el) {
      el.scrollTop = el.scrollHeight;
      if (el.scrollTop !== top) setTop(el.scrollTop);
    }
  }, [count, props.version, props.follow]);

  const onScroll = () => {
    const el = ref.current!;
    setTop(el.scrollTop);
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < rowHeight * 1.5;
    props.onAtEnd?.(atEnd);
  };

  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + height) / rowHeight) + overscan);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) rows.push(props.renderRow(i));

  return (
    <div ref={ref} class={`vlist ${props.class ?? ''}`} onScroll={onScroll} role="list" aria-label={props.label} tabIndex={-1}>
      <div class="vlist-space" style={{ height: `${count * rowHeight}px` }}>
        <div class="vlist-rows" style={{ transform: `translateY(${first * rowHeight}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}

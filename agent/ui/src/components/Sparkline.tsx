// A tiny inline SVG line of recent values, for metric cards.

export function Sparkline({ values, width = 120, height = 28 }: { values: number[]; width?: number; height?: number }) {
  const v = values.filter(Number.isFinite);
  if (v.length < 2) return <svg class="spark" width={width} height={height} aria-hidden="true" />;
  let min = Math.min(...v);
  let max = Math.max(...v);
  if (min === max) {
    min -= 1;
    max += 1;
  }
  const step = width / (v.length - 1);
  const pts = v.map((x, i) => `${(i * step).toFixed(1)},${(height - 2 - ((x - min) / (max - min)) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      <polyline points={pts} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
    </svg>
  );
}

// A usage history chart (uPlot) with a text summary and a table toggle as its text alternative.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatBytes, formatTime } from '../lib/format';
import { historySummary, type HistoryPoint } from '../lib/history';

export function HistoryChart({ points, kind }: { points: HistoryPoint[]; kind: 'cpu' | 'memory' }) {
  const el = useRef<HTMLDivElement>(null);
  const [table, setTable] = useState(false);
  const title = kind === 'cpu' ? 'CPU use (% of one core)' : 'Memory use';
  useEffect(() => {
    const host = el.current;
    if (!host || table) return;
    const xs = points.map((p) => Date.parse(p.t) / 1000);
    const ys = points.map((p) => (kind === 'cpu' ? p.cpuPercent : p.memoryBytes));
    const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#2f6fdf';
    const fg = getComputedStyle(document.documentElement).getPropertyValue('--fg').trim() || '#222';
    const axis = { stroke: fg, grid: { stroke: 'rgba(127,127,127,0.2)' }, ticks: { stroke: 'rgba(127,127,127,0.3)' } };
    const width = Math.max(280, host.clientWidth || 600);
    const plot = new uPlot({
      width, height: 200,
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [axis, { ...axis, size: 70, values: (_u, vals) => vals.map((v) => (kind === 'cpu' ? `${v} %` : formatBytes(v))) }],
      series: [{}, { label: title, stroke: accent, width: 2, fill: 'rgba(47,111,223,0.12)' }],
    }, [xs, ys], host);
    const onResize = () => plot.setSize({ width: Math.max(280, host.clientWidth || 600), height: 200 });
    window.addEventListener('resize', onResize);
    return () => { window.removeEventListener('resize', onResize); plot.destroy(); };
  }, [points, kind, table]);
  const s = historySummary(points, kind);
  return (
    <figure class="chart">
      <figcaption><strong>{title}</strong> <span class="muted">{s}</span></figcaption>
      <button type="button" class="link" aria-pressed={table} onClick={() => setTable(!table)}>{table ? `Show ${kind} chart` : `Show ${kind} table`}</button>
      {table ? (
        <div class="scroll"><table><caption class="sr-only">{title}</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">{kind === 'cpu' ? 'CPU %' : 'Memory'}</th></tr></thead>
          <tbody>{points.map((p) => <tr key={p.t}><td>{formatTime(p.t)}</td><td>{kind === 'cpu' ? `${Math.round(p.cpuPercent)} %` : formatBytes(p.memoryBytes)}</td></tr>)}</tbody>
        </table></div>
      ) : <div ref={el} class="chart-plot" aria-hidden="true"></div>}
    </figure>
  );
}

// Usage history: the summary line that is the charts' text alternative. No DOM.
import { formatBytes } from './format';

export interface HistoryPoint { t: string; cpuPercent: number; memoryBytes: number; diskBytes: number | null; tasks: number | null }
export interface History { user: string; uid: number; range: string; stepSec: number; points: HistoryPoint[] }

export function historySummary(points: HistoryPoint[], kind: 'cpu' | 'memory'): string {
  if (points.length === 0) return 'No samples in this range.';
  const vals = points.map((p) => (kind === 'cpu' ? p.cpuPercent : p.memoryBytes)).filter((v) => Number.isFinite(v));
  if (vals.length === 0) return 'No samples in this range.';
  const max = Math.max(...vals);
  const avg = vals.reduce((a, b) => a + b, 0) / vals.length;
  const last = vals[vals.length - 1] ?? 0;
  const f = (v: number) => (kind === 'cpu' ? `${Math.round(v)} %` : formatBytes(v));
  return `${vals.length} samples; now ${f(last)}, average ${f(avg)}, peak ${f(max)}.`;
}

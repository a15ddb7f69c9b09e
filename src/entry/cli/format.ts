// Pure text rendering for diycloudctl: aligned tables, sizes, cores, yes/no.

import { formatSize } from '../../core/size';

export interface TableOptions {
  /** Column indexes aligned to the right (numbers). */
  readonly right?: readonly number[];
  /** Headers in bold (only when writing to a terminal). */
  readonly bold?: boolean;
}

/** Columns padded to their widest cell, two spaces apart, header first; no trailing blanks. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = new Set(opts.right ?? []);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 && !right.has(i) ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const head = line(headers);
  return [opts.bold ? `\x1b[1m${head}\x1b[0m` : head, ...rows.map(line)].join('\n') + '\n';
}

/** "Key: value" lines with the values aligned, as `systemctl status` and `loginctl` print. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const w = Math.max(...fields.map(([k]) => k.length)) + 1;
  return fields.map(([k, v]) => `${(k + ':').padStart(w)} ${v}`).join('\n') + '\n';
}

const UNITS = ['K', 'M', 'G', 'T', 'P'] as const;

/** Bytes for people: exact where the value is round ("2G", "1536M"), else one decimal ("1.3G"). */
export function humanSize(bytes: number | string | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  if (typeof bytes === 'string') return bytes;
  if (bytes >= 2 ** 64 - 1 || !Number.isFinite(bytes)) return 'infinity';
  const exact = formatSize(bytes);
  if (!/^\d+$/.test(exact) || bytes < 1024) return exact;
  let v = bytes;
  let u = -1;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)}${UNITS[u]}`;
}

/** Cores as a plain number: 2, 0.5, 1.25. */
export function cores(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  return String(Math.round(n * 1000) / 1000);
}

/** systemd's CPUQuotaPerSecUSec (µs per second) as cores; "infinity" stays. */
export function quotaCores(v: number | string | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return v;
  return cores(v / 1_000_000);
}

export function yesNo(b: boolean | null | undefined): string {
  return b === null || b === undefined ? '-' : b ? 'yes' : 'no';
}

export function orDash(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

// Which GPUs an allocation grants: none, all, or a set of indices (pure).

/**
 * The GPU part of an allocation. Indices are the GPU's index in the inventory (for NVIDIA the
 * device minor, /dev/nvidiaN: what nvidia-smi calls the index unless CUDA_VISIBLE_DEVICES
 * reorders). `some` holds at least one index, sorted, without duplicates.
 */
export type GpuGrant =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' }
  | { readonly kind: 'some'; readonly indices: readonly number[] };

export const GPU_NONE: GpuGrant = { kind: 'none' };
export const GPU_ALL: GpuGrant = { kind: 'all' };

/** The highest index accepted; more GPUs than this in one host is a typo. */
export const MAX_GPU_INDEX = 255;

/**
 * "none", "all", or a comma list of indices ("0,2"). Throws an Error saying what is wrong:
 * a negative, duplicated or non-numeric index, or an empty list. Whether the indices exist on
 * this host is checked against the inventory (checkGrantExists), not here.
 */
export function parseGpuGrant(text: string): GpuGrant {
  const t = text.trim().toLowerCase();
  if (t === 'none') return GPU_NONE;
  if (t === 'all') return GPU_ALL;
  if (t === '') throw new Error('expected "none", "all" or GPU indices such as 0,2');
  const indices: number[] = [];
  for (const part of t.split(',')) {
    const p = part.trim();
    if (!/^[0-9]+$/.test(p)) {
      throw new Error(p.startsWith('-') ? `GPU index "${p}" is negative` : `"${p}" is not a GPU index (expected "none", "all" or indices such as 0,2)`);
    }
    const n = Number(p);
    if (n > MAX_GPU_INDEX) throw new Error(`GPU index ${n} is above ${MAX_GPU_INDEX}`);
    if (indices.includes(n)) throw new Error(`GPU index ${n} is given twice`);
    indices.push(n);
  }
  return { kind: 'some', indices: indices.sort((a, b) => a - b) };
}

/** The stored and shown form: "none", "all" or "0,2". parseGpuGrant(formatGpuGrant(g)) equals g. */
export function formatGpuGrant(g: GpuGrant): string {
  return g.kind === 'some' ? g.indices.join(',') : g.kind;
}

/** The old boolean GPU flag: true was access to every GPU, false to none. */
export function grantFromFlag(flag: boolean): GpuGrant {
  return flag ? GPU_ALL : GPU_NONE;
}

/** The indices a grant opens among those present on this host (sorted). */
export function grantedIndices(g: GpuGrant, present: readonly number[]): number[] {
  const sorted = [...present].sort((a, b) => a - b);
  if (g.kind === 'none') return [];
  if (g.kind === 'all') return sorted;
  return sorted.filter((i) => g.indices.includes(i));
}

/** Whether a grant opens any GPU at all (what the group check and the login line need). */
export function grantsAny(g: GpuGrant): boolean {
  return g.kind !== 'none';
}

/**
 * Why a grant cannot be given on this host, or null: specific indices that are not present, or
 * any grant but "none" on a host without GPUs. "all" on a host without GPUs is refused too: an
 * admin who types --gpus all there has the wrong host or a missing driver.
 */
export function grantProblem(g: GpuGrant, present: readonly number[]): string | null {
  if (g.kind === 'none') return null;
  if (present.length === 0) return 'this host has no GPUs (no GPU device nodes were found); use "none", or check the driver with diycloudctl doctor';
  if (g.kind === 'all') return null;
  const missing = g.indices.filter((i) => !present.includes(i));
  if (missing.length === 0) return null;
  return `GPU ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist on this host (present: ${[...present].sort((a, b) => a - b).join(', ')})`;
}

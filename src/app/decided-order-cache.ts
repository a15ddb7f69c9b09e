// QueryUsers' orders on a decided allocation (sort=memory), kept between calls while nothing they read has changed.

/**
 * A sort on the decided memory limit reads and decides every user (about 20 ms with 10,000); paging
 * through it, or reloading the page, asks for the same order again. An entry is the whole ordered
 * list of uids for one query shape (filters and direction), valid while the store's
 * listingRevision is the one it was read at. What else the order depends on, the configuration's
 * defaults and the host's bounds, is fixed for the daemon's life (a restart re-reads them). Orders
 * that depend on disk usage or usage samples are never kept. At most `maxEntries` shapes are kept,
 * the least recently used dropped first (10,000 uids are about 80 KB).
 */
export class DecidedOrderCache {
  private readonly entries = new Map<string, { revision: string; uids: readonly number[] }>();

  constructor(private readonly maxEntries = 8) {}

  get(shape: string, revision: string): readonly number[] | null {
    const e = this.entries.get(shape);
    if (!e) return null;
    this.entries.delete(shape);
    if (e.revision !== revision) return null;
    this.entries.set(shape, e);
    return e.uids;
  }

  set(shape: string, revision: string, uids: readonly number[]): void {
    this.entries.delete(shape);
    this.entries.set(shape, { revision, uids });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}

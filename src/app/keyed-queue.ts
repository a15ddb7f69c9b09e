// A per-key operation queue: work on one key runs in order, work on different keys runs in parallel.

/**
 * Protocol: `run(key, fn)` starts `fn` once every earlier `fn` for the same key has settled
 * (fulfilled or rejected). The tail promise is dropped when the queue for a key drains, so the
 * map only holds keys with work in flight.
 */
export class KeyedQueue {
  private readonly tails = new Map<string | number, Promise<unknown>>();

  run<T>(key: string | number, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}

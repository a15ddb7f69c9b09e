// Turns SQLite's "database is locked" into the catalogue's Busy, for every method of a store.

import { DiycloudError } from '../../core/errors';

/** True for better-sqlite3's error when another connection holds the lock (busy_timeout is 0). */
function isLocked(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/**
 * Wraps a store so that a write finding the database locked by another program (an sqlite3 shell
 * inside BEGIN) fails with Busy ("retry later") rather than as an internal error. The store's
 * methods are synchronous, so a plain try/catch around each call is enough.
 */
export function withBusyErrors<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        try {
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        } catch (e) {
          if (isLocked(e)) throw new DiycloudError('Busy', 'the database is locked by another program (for example an sqlite3 shell in a transaction); retry later', { cause: e });
          throw e;
        }
      };
    },
  });
}

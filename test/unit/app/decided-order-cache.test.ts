// Unit: DecidedOrderCache keeps an order per query shape while its revision holds, least recently used dropped first.
import { describe, expect, it } from 'vitest';
import { DecidedOrderCache } from '../../../src/app/decided-order-cache';

describe('DecidedOrderCache', () => {
  it('gives an order back only at the revision it was read at, and forgets a stale one', () => {
    const c = new DecidedOrderCache();
    c.set('a', '1:1', [3, 1, 2]);
    expect(c.get('a', '1:1')).toEqual([3, 1, 2]);
    expect(c.get('b', '1:1')).toBeNull();
    expect(c.get('a', '2:1')).toBeNull();
    expect(c.size).toBe(0);
    expect(c.get('a', '1:1')).toBeNull();
  });

  it('keeps at most maxEntries shapes, dropping the least recently used', () => {
    const c = new DecidedOrderCache(2);
    c.set('a', 'r', [1]);
    c.set('b', 'r', [2]);
    expect(c.get('a', 'r')).toEqual([1]); // a is now the most recent
    c.set('c', 'r', [3]);
    expect(c.size).toBe(2);
    expect(c.get('b', 'r')).toBeNull();
    expect(c.get('a', 'r')).toEqual([1]);
    expect(c.get('c', 'r')).toEqual([3]);
    c.set('c', 'r2', [4]);
    expect(c.get('c', 'r2')).toEqual([4]);
    expect(c.size).toBe(2);
  });
});

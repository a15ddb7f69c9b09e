// Limit events from counter snapshots, the terminal rate limit, retention and the [Events] config.

import { describe, expect, it } from 'vitest';
import { EMPTY_SNAPSHOT, MessageRateLimit, limitEvents, mergeSnapshot, quotaLevel, retentionCutoffUsec, terminalMessage, type CounterSnapshot } from '../../../src/core/limit-events';
import { parseConfig } from '../../../src/core/config';

const T = { throttleUsecPerMin: 6_000_000 }; // 10 % of a minute
const snap = (o: Partial<CounterSnapshot>): CounterSnapshot => ({ ...EMPTY_SNAPSHOT, ...o });
const defs = { uidMin: 1000, uidMax: 60000 };

describe('limitEvents', () => {
  it('no growth, no event', () => {
    expect(limitEvents(1000, snap({ oomKill: 2, tasksMax: 5 }), snap({ oomKill: 2, tasksMax: 5, atMs: 1000 }), T)).toEqual([]);
  });
  it('each counter that grew is one event with the growth as count', () => {
    const e = limitEvents(1000, snap({ oomKill: 1, memoryHigh: 10, tasksMax: 0 }), snap({ atMs: 1000, oomKill: 3, memoryHigh: 11, tasksMax: 7 }), T);
    expect(e).toEqual([
      { uid: 1000, resource: 'memory', kind: 'oom-kill', count: 2, path: null },
      { uid: 1000, resource: 'memory', kind: 'high', count: 1, path: null },
      { uid: 1000, resource: 'tasks', kind: 'max', count: 7, path: null },
    ]);
  });
  it('null on either side (not read, or not counted: v1 has no high) gives no event', () => {
    expect(limitEvents(1, snap({ memoryHigh: null }), snap({ memoryHigh: 5, atMs: 1 }), T)).toEqual([]);
    expect(limitEvents(1, snap({ oomKill: 1 }), snap({ oomKill: null, atMs: 1 }), T)).toEqual([]);
  });
  it('a counter below its previous value (cgroup made again) counts its whole value', () => {
    expect(limitEvents(1, snap({ oomKill: 5 }), snap({ oomKill: 1, atMs: 1 }), T)).toEqual([{ uid: 1, resource: 'memory', kind: 'oom-kill', count: 1, path: null }]);
  });
  it('throttling: above the threshold per minute of elapsed time only', () => {
    // 7 s throttled in 60 s: above 10 %
    expect(limitEvents(1, snap({ throttledUsec: 1_000_000, atMs: 0 }), snap({ throttledUsec: 8_000_000, atMs: 60_000 }), T)).toEqual([{ uid: 1, resource: 'cpu', kind: 'throttled', count: 7_000_000, path: null }]);
    // 5 s in 60 s: below
    expect(limitEvents(1, snap({ throttledUsec: 0, atMs: 0 }), snap({ throttledUsec: 5_000_000, atMs: 60_000 }), T)).toEqual([]);
    // 5 s in 30 s is 10 s per minute: above (the threshold scales with the interval)
    expect(limitEvents(1, snap({ throttledUsec: 0, atMs: 0 }), snap({ throttledUsec: 5_000_000, atMs: 30_000 }), T)).toHaveLength(1);
    // the elapsed time is since the previous cpu reading, not the previous fast one
    expect(limitEvents(1, snap({ throttledUsec: 0, atMs: 59_000 }), snap({ throttledUsec: 7_000_000, atMs: 60_000 }), T, 0)).toHaveLength(1);
    expect(limitEvents(1, snap({ throttledUsec: 0, atMs: 0 }), snap({ throttledUsec: 5_000_000, atMs: 0 }), T)).toEqual([]);
  });
  it('disk: ok → hard is "quota", ok → soft is "grace", soft → hard is "quota", staying is nothing', () => {
    const d = (prev: Record<string, 'ok' | 'soft' | 'hard'>, next: Record<string, 'ok' | 'soft' | 'hard'>) => limitEvents(1, snap({ quota: prev }), snap({ quota: next, atMs: 1 }), T).map((e) => `${e.kind}@${e.path}`);
    expect(d({}, { '/home': 'hard' })).toEqual(['quota@/home']);
    expect(d({ '/home': 'ok' }, { '/home': 'soft' })).toEqual(['grace@/home']);
    expect(d({ '/home': 'soft' }, { '/home': 'hard' })).toEqual(['quota@/home']);
    expect(d({ '/home': 'hard' }, { '/home': 'hard' })).toEqual([]);
    expect(d({ '/home': 'hard' }, { '/home': 'soft' })).toEqual([]);
    expect(d({ '/srv': 'ok', '/home': 'ok' }, { '/srv': 'soft', '/home': 'hard' })).toEqual(['quota@/home', 'grace@/srv']);
  });
});

describe('mergeSnapshot', () => {
  it('keeps fields the partial reading left out', () => {
    const m = mergeSnapshot(snap({ oomKill: 1, throttledUsec: 50, quota: { '/a': 'soft' } }), { atMs: 9, oomKill: null, memoryHigh: 2, tasksMax: null, throttledUsec: null, quota: {} });
    expect(m).toEqual({ atMs: 9, oomKill: 1, memoryHigh: 2, tasksMax: 0, throttledUsec: 50, quota: { '/a': 'soft' } });
  });
});

describe('quotaLevel', () => {
  it('hard within 1 MiB (or 1 % of a small limit) of the hard limit; soft above the soft one', () => {
    const M = 1024 ** 2;
    expect(quotaLevel(100 * M - 1000, 90 * M, 100 * M)).toBe('hard');
    expect(quotaLevel(98 * M, 90 * M, 100 * M)).toBe('soft');
    expect(quotaLevel(50 * M, 90 * M, 100 * M)).toBe('ok');
    expect(quotaLevel(10 * M, 0, 0)).toBe('ok');
    expect(quotaLevel(9.95 * M, 0, 10 * M)).toBe('hard');
    expect(quotaLevel(9.8 * M, 0, 10 * M)).toBe('ok');
  });
});

describe('MessageRateLimit', () => {
  it('one message per user and kind per interval', () => {
    const r = new MessageRateLimit(600_000);
    expect(r.take(1000, 'memory', 'oom-kill', 0)).toBe(true);
    expect(r.take(1000, 'memory', 'oom-kill', 599_999)).toBe(false);
    expect(r.take(1000, 'tasks', 'max', 1)).toBe(true); // another kind
    expect(r.take(1001, 'memory', 'oom-kill', 1)).toBe(true); // another user
    expect(r.take(1000, 'memory', 'oom-kill', 600_000)).toBe(true);
  });
  it('forgetting old slots frees nothing that is still held', () => {
    const r = new MessageRateLimit(1000);
    r.take(1, 'cpu', 'throttled', 0);
    r.take(2, 'cpu', 'throttled', 900);
    r.forgetBefore(500);
    expect(r.take(2, 'cpu', 'throttled', 1000)).toBe(false);
    expect(r.take(1, 'cpu', 'throttled', 1000)).toBe(true);
  });
});

describe('retention and messages', () => {
  it('the cutoff is retention before now, in µs', () => {
    expect(retentionCutoffUsec(10_000_000, 3600)).toBe((10_000_000 - 3_600_000) * 1000);
  });
  it('messages are one printable line naming the fix', () => {
    const m = terminalMessage({ uid: 1, resource: 'disk', kind: 'quota', count: 1, path: '/home\x1b[2J' });
    expect(m).toMatch(/^diycloud: disk quota reached: writes fail on \/home\?\[2J\. Run "diycloudctl limits"/);
    expect(terminalMessage({ uid: 1, resource: 'memory', kind: 'oom-kill', count: 2, path: null })).toContain('(2 killed)');
  });
});

describe('[Events] config', () => {
  it('defaults', () => {
    expect(parseConfig('', defs).events).toEqual({ throttleUsecPerMin: 6_000_000, retentionSec: 7 * 86400, terminalMessages: true, messageIntervalSec: 600, pollIntervalSec: 2, sampleIntervalSec: 60 });
  });
  it('reads values', () => {
    const c = parseConfig('[Events]\nThrottleThreshold=25\nRetention=30d\nTerminalMessages=no\nMessageInterval=1h\nPollInterval=1s\nSampleInterval=5min\n', defs);
    expect(c.events).toEqual({ throttleUsecPerMin: 15_000_000, retentionSec: 30 * 86400, terminalMessages: false, messageIntervalSec: 3600, pollIntervalSec: 1, sampleIntervalSec: 300 });
  });
  it.each([
    ['ThrottleThreshold=0%', /\[Events\] ThrottleThreshold: must be between 1% and 100%/],
    ['ThrottleThreshold=150%', /\[Events\] ThrottleThreshold: must be between 1% and 100%/],
    ['ThrottleThreshold=lots', /\[Events\] ThrottleThreshold: expected a percentage/],
    ['Retention=10min', /\[Events\] Retention: .*between 1h and 365d/],
    ['PollInterval=0', /\[Events\] PollInterval: .*between 1s and 60s/],
    ['PollInterval=2min', /\[Events\] PollInterval: .*between 1s and 60s/],
    ['SampleInterval=5s', /\[Events\] SampleInterval: .*between 10s and 1h/],
    ['MessageInterval=2d', /\[Events\] MessageInterval: .*between 1s and 1d/],
    ['Threshold=5', /\[Events\] unknown key "Threshold"/],
  ])('%s is an InvalidArgument config error', (line, re) => {
    expect(() => parseConfig(`[Events]\n${line}\n`, defs)).toThrow(re);
    try {
      parseConfig(`[Events]\n${line}\n`, defs);
    } catch (e) {
      expect((e as { code: string }).code).toBe('InvalidArgument');
    }
  });
});

// Unit: `diycloudctl limits` as text (src/entry/cli/limits-view.ts): sources, live use, limit events in either time field.
import { describe, expect, it } from 'vitest';
import { duration, eventMs, limitsJson, renderEvents, renderOwnLimits, renderUse, type LimitsView } from '../../../src/entry/cli/limits-view';

const G = 1024 ** 3;
const M = 1024 ** 2;

function view(over: Partial<LimitsView> = {}): LimitsView {
  return {
    name: 'alice', uid: 2001, managed: true, inDatabase: true, email: null, role: 'student', enabled: true, created: null, lastLogin: null,
    allocation: { cpu: 2, memory: 4 * G, disk: 20 * G, gpu: '0,2', tasks: 500 },
    sources: { cpu: 'role', memory: 'user', disk: 'default', gpu: 'user', tasks: 'role' },
    cgroup: { exists: true, settings: { cpuQuotaPerSecUsec: 2_000_000, memoryMaxBytes: 4 * G, tasksMax: 500 }, memoryCurrentBytes: 1.2 * G, cpuUsageNsec: 63.4e9, tasksCurrent: 12 },
    disk: [{ path: '/home', state: 'enforced', usedBytes: 3 * G, softBytes: 18 * G, hardBytes: 20 * G, overQuota: false }],
    ...over,
  };
}

describe('renderOwnLimits', () => {
  it('shows each value with its source, what is in force and live use', () => {
    const text = renderOwnLimits(view());
    expect(text.split('\n')[0]).toBe('alice (uid 2001), role student');
    expect(text).toMatch(/^cpu\s+2\s+role\s+2$/m);
    expect(text).toMatch(/^memory\s+4G\s+user\s+4G$/m);
    expect(text).toMatch(/^disk\s+20G\s+default\s+\/home: 3G used of 20G$/m);
    expect(text).toMatch(/^gpu\s+0,2\s+user\s+-$/m);
    expect(text).toMatch(/^tasks\s+500\s+role\s+500$/m);
    expect(text).toContain('In use: memory 1.2G (30% of 4G), 12 tasks of 500, 1m 3s of CPU time');
    expect(text).not.toContain('limit events'); // a daemon that records none does not send the field
  });
  it('says when nothing runs', () => {
    expect(renderUse(view({ cgroup: { exists: false, settings: null, memoryCurrentBytes: null, cpuUsageNsec: null, tasksCurrent: null } }))).toBe('In use: nothing (no session or job is running)');
    expect(renderUse(view({ cgroup: { exists: true, settings: {}, memoryCurrentBytes: 300 * M, cpuUsageNsec: null, tasksCurrent: 1 }, allocation: { cpu: 1, memory: 2 * G, disk: 0, gpu: 'none', tasks: null } }))).toBe(
      'In use: memory 300M (15% of 2G), 1 task',
    );
  });
});

describe('limit events', () => {
  it('reads atUsec or at, newest first, and keeps control characters off the terminal', () => {
    const t1 = Date.UTC(2026, 11, 2, 1, 0, 0);
    const text = renderEvents([
      { at: new Date(t1).toISOString(), resource: 'memory', kind: 'oom-kill', count: 1, message: 'a process was killed\x1b[2J' },
      { atUsec: (t1 + 60_000) * 1000, resource: 'disk', kind: 'quota', count: 1, path: '/home', message: 'quota reached' },
    ]);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('Recent limit events:');
    expect(lines[1]).toMatch(/^TIME\s+RESOURCE\s+KIND\s+COUNT\s+MESSAGE$/);
    expect(lines[2]).toMatch(/disk \/home\s+quota\s+1\s+quota reached$/);
    expect(lines[3]).toMatch(/memory\s+oom-kill\s+1\s+a process was killed\?\[2J$/);
    expect(renderEvents([])).toBe('\nRecent limit events: none\n');
    expect(eventMs({ resource: 'cpu', kind: 'throttled', count: 5 })).toBeNull();
    expect(eventMs({ at: 'garbage', resource: 'cpu', kind: 'throttled', count: 5 })).toBeNull();
  });
  it('are shown and kept in --json when the daemon sends them', () => {
    const events = [{ atUsec: 1, resource: 'tasks', kind: 'max', count: 3, message: 'fork refused' }];
    expect(renderOwnLimits(view({ events }))).toMatch(/Recent limit events:\n/);
    expect(limitsJson(view({ events }))).toMatchObject({ name: 'alice', role: 'student', sources: { memory: 'user' }, events });
    expect(limitsJson(view())).not.toHaveProperty('events');
  });
});

describe('duration', () => {
  it('is short', () => {
    expect([duration(4.25), duration(63.4), duration(7300), duration(90000)]).toEqual(['4.3s', '1m 3s', '2h 1m', '1d 1h']);
  });
});

// Unit: diycloudctl's tables, sizes and the views of the daemon's JSON.
import { describe, expect, it } from 'vitest';
import { cores, humanSize, quotaCores, renderTable } from '../../../src/entry/cli/format';
import { renderLimits, renderReconcile, renderUsage, renderUserList, renderAudit, renderProfiles } from '../../../src/entry/cli/views';
import type { UserView } from '../../../src/app/get-user';

const G = 1024 ** 3;
const user = (over: Partial<UserView> = {}): UserView => ({
  name: 'alice', uid: 2001, managed: true, inDatabase: true, email: null, role: 'user', enabled: true, created: null, lastLogin: null,
  allocation: { cpu: 0.5, memory: 2 * G, disk: 5 * G, gpu: 'none', tasks: null },
  sources: { cpu: 'user', memory: 'default', disk: 'default', gpu: 'default', tasks: 'default' },
  cgroup: { exists: true, settings: { cpuQuotaPerSecUsec: 500000, memoryMaxBytes: 2 * G, memoryHighBytes: 'infinity', tasksMax: 'infinity' }, memoryCurrentBytes: 300 * 1024 ** 2 },
  ...over,
});

describe('renderTable', () => {
  it('pads columns to the widest cell, two spaces apart, right-aligns numbers, no trailing blanks', () => {
    expect(renderTable(['NAME', 'UID', 'ROLE'], [['alice', '2001', 'user'], ['bo', '42', '']], { right: [1] })).toBe(
      'NAME    UID  ROLE\nalice  2001  user\nbo       42\n',
    );
  });
  it('uses bold headers only when asked (a terminal)', () => {
    expect(renderTable(['A'], [['x']])).not.toContain('\x1b');
    expect(renderTable(['A'], [['x']], { bold: true })).toContain('\x1b[1mA\x1b[0m');
  });
});

describe('sizes and cores', () => {
  it('shows round sizes exactly and others with one decimal', () => {
    expect(humanSize(2 * G)).toBe('2G');
    expect(humanSize(1536 * 1024 ** 2)).toBe('1536M');
    expect(humanSize(Math.round(1.3 * G) + 7)).toBe('1.3G');
    expect(humanSize(512)).toBe('512');
    expect(humanSize(null)).toBe('-');
    expect(humanSize('infinity')).toBe('infinity');
    expect(humanSize(2 ** 64 - 1)).toBe('infinity');
  });
  it('shows cores as numbers, and cpuQuotaPerSecUsec as cores', () => {
    expect(cores(2)).toBe('2');
    expect(cores(0.5)).toBe('0.5');
    expect(quotaCores(250000)).toBe('0.25');
    expect(quotaCores('infinity')).toBe('infinity');
  });
});

describe('views', () => {
  it('limits: allocation, source and what is in force', () => {
    const t = renderLimits(user());
    expect(t.split('\n')[0]).toMatch(/^RESOURCE\s+ALLOCATION\s+SOURCE\s+IN FORCE$/);
    expect(t).toMatch(/^cpu\s+0\.5\s+user\s+0\.5$/m);
    expect(t).toMatch(/^memory\s+2G\s+default\s+2G$/m);
    expect(t).toMatch(/^gpu\s+none\s+default\s+-$/m);
    expect(t).toMatch(/^tasks\s+-\s+default\s+infinity$/m);
  });
  it('user list and status (biggest live memory first)', () => {
    const list = [user(), user({ name: 'bob', uid: 2002, enabled: false, cgroup: { exists: true, settings: null, memoryCurrentBytes: G } }), user({ name: 'carol', uid: 2003, cgroup: { exists: false, settings: null, memoryCurrentBytes: null } })];
    expect(renderUserList(list)).toMatch(/^bob\s+2002\s+user\s+no\s+0\.5\s+2G\s+5G\s+none\s+-\s+-$/m);
    const rows = renderUsage(list).trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]);
    expect(rows).toEqual(['bob', 'alice', 'carol']);
  });
  it('reconcile report', () => {
    const r = { backend: 'systemd', slices: 3, managed: 2, changed: [{ uid: 2400, user: 'erin', properties: ['memoryMaxBytes'] }], reverted: [3100], errors: [{ uid: 2500, error: 'boom' }], durationMs: 4 };
    expect(renderReconcile(r)).toBe('Reconciled 3 user cgroup(s), 2 managed, backend systemd, in 4 ms.\nchanged: uid 2400 (erin): memoryMaxBytes\nlifted: uid 3100 (no longer managed)\nfailed: uid 2500: boom\n');
    expect(renderReconcile({ ...r, changed: [], reverted: [], errors: [] })).toMatch(/Nothing changed\.\n$/);
  });
  it('profiles and audit tolerate a bare array or a wrapping object', () => {
    expect(renderProfiles([{ role: 'staff', members: 3, allocation: { cpu: 4, memory: 16 * G, disk: 50 * G, gpu: '0,2', tasks: 1000 } }])).toMatch(/^staff\s+3\s+4\s+16G\s+50G\s+0,2\s+1000$/m);
    expect(renderAudit({ entries: [{ at: '2024-01-01T00:00:00Z', callerUid: 0, action: 'SetLimits', target: 'alice', result: 'ok', detail: '' }] })).toMatch(/SetLimits\s+alice\s+ok\s+-$/m);
  });
});

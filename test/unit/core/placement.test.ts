// Unit: which login process OpenSession moves (every rule), and the /proc text parsers behind the facts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decidePlacement,
  inUserSlice,
  isValidScopeName,
  parseProcCgroup,
  parseProcStat,
  parseProcStatus,
  placementProblem,
  scopeUnitName,
  type PlacementInput,
  type ProcessFacts,
} from '../../../src/core/placement';

const RANGE = { uidMin: 1000, uidMax: 1999 };
const hook: ProcessFacts = { pid: 500, comm: 'pam-hook', ppid: 400, euid: 0, startTime: 9000, cgroup: '/user.slice/user-0.slice/session-3.scope' };
const su: ProcessFacts = { pid: 400, comm: 'su', ppid: 300, euid: 0, startTime: 8000, cgroup: '/user.slice/user-0.slice/session-3.scope' };
const base: PlacementInput = { target: 'hook-parent', uid: 1000, range: RANGE, daemonPid: 99, callerPid: 500, hook, parent: su };
const decide = (o: Partial<PlacementInput>) => decidePlacement({ ...base, ...o });
const reason = (o: Partial<PlacementInput>) => {
  const d = decide(o);
  return d.move ? 'moved' : d.reason;
};

describe('decidePlacement', () => {
  it('moves the hook\'s parent when it is outside user-UID.slice (su in root\'s session, cron), remembering its start time', () => {
    expect(decide({})).toEqual({ move: true, pid: 400, startTime: 8000, comm: 'su', from: '/user.slice/user-0.slice/session-3.scope' });
    expect(decide({ parent: { ...su, comm: 'cron', cgroup: '/system.slice/cron.service' } })).toMatchObject({ move: true, pid: 400 });
    expect(decide({ parent: { ...su, euid: 1000 } })).toMatchObject({ move: true }); // a parent running as the user
  });
  it('never for root or a system account (outside [UIDMin, UIDMax])', () => {
    expect(reason({ uid: 0 })).toBe('uid 0 is root or a system account');
    expect(reason({ uid: 0, range: { uidMin: 0, uidMax: 1999 } })).toBe('uid 0 is root or a system account');
    expect(reason({ uid: 999 })).toMatch(/system account/);
    expect(reason({ uid: 65534 })).toMatch(/system account/);
  });
  it('never when the caller is not the hook: no PID from the bus, gone, another program (root\'s busctl from a shell)', () => {
    expect(reason({ callerPid: null })).toMatch(/did not report the caller's PID/);
    expect(reason({ hook: null })).toBe('the caller (PID 500) is gone');
    expect(reason({ hook: { ...hook, pid: 501 } })).toBe('the caller (PID 500) is gone');
    expect(reason({ hook: { ...hook, comm: 'busctl' } })).toBe('the caller (PID 500, "busctl") is not the PAM hook');
    expect(reason({ hook: { ...hook, comm: 'pam-hook2' } })).toMatch(/not the PAM hook/);
    expect(reason({ hook: { ...hook, comm: 'x\n\x1b[2J' } })).toBe('the caller (PID 500, "x\\x0a\\x1b[2J") is not the PAM hook');
  });
  it('never PID 1 (the hook was orphaned), a vanished parent, or the daemon itself', () => {
    expect(reason({ hook: { ...hook, ppid: 1 }, parent: { ...su, pid: 1 } })).toBe('the hook\'s parent is PID 1: the PAM application is gone');
    expect(reason({ hook: { ...hook, ppid: 0 }, parent: null })).toMatch(/PID 0/);
    expect(reason({ parent: null })).toBe('the hook\'s parent (PID 400) is gone');
    expect(reason({ parent: { ...su, pid: 401 } })).toBe('the hook\'s parent (PID 400) is gone');
    expect(reason({ daemonPid: 400 })).toBe('the hook\'s parent is diycloudd itself');
  });
  it('never a parent running as another user (effective UID neither 0 nor the target)', () => {
    expect(reason({ parent: { ...su, euid: 1001 } })).toBe('the hook\'s parent (PID 400) runs as uid 1001, neither root nor uid 1000');
  });
  it('never a process that started after the hook: the PID was reused', () => {
    expect(reason({ parent: { ...su, startTime: 9001 } })).toMatch(/started after the hook/);
    expect(decide({ parent: { ...su, startTime: 9000 } }).move).toBe(true); // same tick: fork and exec within 10 ms
  });
  it('OpenSessionHere (pam_diycloud.so): the caller itself is the PAM application and is moved, whatever its name; never its parent', () => {
    const sshd: ProcessFacts = { pid: 500, comm: 'sshd', ppid: 1, euid: 0, startTime: 9000, cgroup: '/system.slice/ssh.service' };
    const here = (o: Partial<PlacementInput>) => decide({ target: 'caller', hook: sshd, parent: null, ...o });
    expect(here({})).toEqual({ move: true, pid: 500, startTime: 9000, comm: 'sshd', from: '/system.slice/ssh.service' });
    expect(here({ hook: { ...sshd, comm: 'su' }, parent: su })).toMatchObject({ move: true, pid: 500 }); // the parent is never read
    expect(here({ hook: { ...sshd, comm: 'pam-hook' }, parent: su })).toMatchObject({ move: true, pid: 500 }); // the name does not matter here
    const why = (o: Partial<PlacementInput>) => { const d = here(o); return d.move ? 'moved' : d.reason; };
    expect(why({ hook: null })).toBe('the caller (PID 500) is gone');
    expect(why({ callerPid: null })).toMatch(/did not report/);
    expect(why({ daemonPid: 500 })).toBe('the caller is diycloudd itself');
    expect(why({ hook: { ...sshd, euid: 1001 } })).toBe('the caller (PID 500) runs as uid 1001, neither root nor uid 1000');
    expect(why({ hook: { ...sshd, cgroup: '/user.slice/user-1000.slice/session-7.scope' } })).toBe('PID 500 is already in user-1000.slice');
    expect(why({ hook: { ...sshd, cgroup: null } })).toBe('the cgroup of PID 500 is unknown');
    expect(why({ uid: 0 })).toMatch(/root or a system account/);
  });
  it('leaves alone a process already in user-UID.slice (the ssh case after pam_systemd), and one whose cgroup is unknown', () => {
    expect(reason({ parent: { ...su, cgroup: '/user.slice/user-1000.slice/session-7.scope' } })).toBe('PID 400 is already in user-1000.slice');
    expect(reason({ parent: { ...su, cgroup: '/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope' } })).toMatch(/already in/);
    expect(reason({ parent: { ...su, cgroup: null } })).toBe('the cgroup of PID 400 is unknown');
    expect(decide({ parent: { ...su, cgroup: '/user.slice/user-10000.slice/session-7.scope' } }).move).toBe(true);
  });
});

describe('inUserSlice', () => {
  it('needs user.slice/user-UID.slice as whole path components', () => {
    expect(inUserSlice('/user.slice/user-1000.slice/session-1.scope', 1000)).toBe(true);
    expect(inUserSlice('/user.slice/user-1000.slice', 1000)).toBe(true);
    expect(inUserSlice('/machine.slice/x.scope/payload/user.slice/user-1000.slice/session-1.scope', 1000)).toBe(true); // another cgroup namespace
    expect(inUserSlice('/user.slice/user-10000.slice/session-1.scope', 1000)).toBe(false);
    expect(inUserSlice('/user.slice/user-1000.slicex/a', 1000)).toBe(false);
    expect(inUserSlice('/system.slice/user-1000.slice.service', 1000)).toBe(false);
    expect(inUserSlice('/system.slice/cron.service', 1000)).toBe(false);
    expect(inUserSlice('/', 1000)).toBe(false);
  });
});

describe('placementProblem', () => {
  it('is null while the PID names the same process, and says so when it is gone or reused', () => {
    expect(placementProblem({ pid: 400, startTime: 8000 }, { ...su, cgroup: '/user.slice/user-1000.slice/diycloud-1000-400.scope' })).toBeNull();
    expect(placementProblem({ pid: 400, startTime: 8000 }, null)).toBe('PID 400 is gone');
    expect(placementProblem({ pid: 400, startTime: 8000 }, { ...su, startTime: 8100 })).toMatch(/now names another process/);
  });
});

describe('/proc parsers', () => {
  it('cgroup: the "0::" line on v2 and hybrid, "name=systemd" on pure v1, null otherwise', () => {
    expect(parseProcCgroup('0::/user.slice/user-1000.slice/session-2.scope\n')).toBe('/user.slice/user-1000.slice/session-2.scope');
    const hybrid = '12:memory:/user.slice/user-1000.slice/session-2.scope\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n0::/user.slice/user-1000.slice/session-2.scope\n';
    expect(parseProcCgroup(hybrid)).toBe('/user.slice/user-1000.slice/session-2.scope');
    expect(parseProcCgroup('4:memory:/x\n1:name=systemd:/system.slice/cron.service\n')).toBe('/system.slice/cron.service');
    expect(parseProcCgroup('4:cpu,cpuacct:/a\n')).toBeNull();
    expect(parseProcCgroup('')).toBeNull();
    expect(parseProcCgroup('0::/odd:name/with:colons\n')).toBe('/odd:name/with:colons');
  });
  it('stat: the name between the first "(" and the last ")", field 22 counted after it, so a name with spaces or ")" cannot shift it', () => {
    const tail = 'S 300 400 400 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 8123 1000 100 18446744073709551615';
    expect(parseProcStat(`400 (su) ${tail}`)).toEqual({ comm: 'su', startTime: 8123 });
    expect(parseProcStat(`400 (a) b ) c) ${tail}`)).toEqual({ comm: 'a) b ) c', startTime: 8123 });
    expect(parseProcStat(`400 (pam-hook) ${tail}`)?.comm).toBe('pam-hook');
    expect(parseProcStat('400 (su) S 1 2')).toBeNull();
    expect(parseProcStat('garbage')).toBeNull();
  });
  it('status: PPid and the effective (second) UID', () => {
    const status = 'Name:\tsu\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t400\nPid:\t400\nPPid:\t300\nTracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n';
    expect(parseProcStatus(status)).toEqual({ ppid: 300, euid: 0 });
    expect(parseProcStatus('Name:\tx\n')).toBeNull();
  });
});

describe('scope unit names', () => {
  it('are diycloud-UID-PID.scope (with a suffix when taken) and valid systemd unit names', () => {
    expect(scopeUnitName(1000, 4242)).toBe('diycloud-1000-4242.scope');
    expect(scopeUnitName(4294967294, 4194303, 'lz3k2')).toBe('diycloud-4294967294-4194303-lz3k2.scope');
    expect(isValidScopeName(scopeUnitName(4294967294, 4194303, Date.now().toString(36)))).toBe(true);
    expect(isValidScopeName('bad name.scope')).toBe(false);
    expect(isValidScopeName('x/y.scope')).toBe(false);
    expect(isValidScopeName('a'.repeat(250) + '.scope')).toBe(false);
    expect(isValidScopeName('diycloud-1.service')).toBe(false);
  });
});

describe('the PAM profile runs our session line after pam_systemd', () => {
  it('has a Priority below every default-priority profile (libpam-systemd\'s is 0 on Debian 12 and 13)', () => {
    const ours = Number(/^Priority: (-?[0-9]+)$/m.exec(readFileSync(join(__dirname, '../../../pam/pam-configs/diycloud'), 'utf8'))?.[1]);
    // pam-auth-update's order: Priority descending, ties by file name descending (sort { $b <=> $a || $b cmp $a })
    const profiles = [['unix', 256], ['systemd', 0], ['mkhomedir', 0], ['capability', 0], ['aaa', 0], ['diycloud', ours]] as const;
    const order = [...profiles].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0)).map((p) => p[0]);
    // otherwise pam_systemd would place an ssh login after we did, or a later module could move it again
    expect(order.indexOf('diycloud')).toBe(order.length - 1);
  });
});

// Terminal messages: tty_nr decoding, and the owner / mesg / symlink checks on fixture /proc and /dev trees.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TtyNotifier, ttyNrOf, ttyPath } from '../../../src/adapters/terminal/tty-notifier';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('tty_nr', () => {
  it('decodes ptys and consoles, nothing else', () => {
    expect(ttyPath((136 << 8) | 5)).toBe('/dev/pts/5');
    expect(ttyPath((137 << 8) | 2)).toBe('/dev/pts/258');
    expect(ttyPath((136 << 8) | (1 << 20) | 3)).toBe('/dev/pts/259'); // minor bits 8+ sit from bit 20 up
    expect(ttyPath((4 << 8) | 2)).toBe('/dev/tty2');
    expect(ttyPath((4 << 8) | 64)).toBeNull(); // ttyS0
    expect(ttyPath(0)).toBeNull();
  });
  it('reads field 7 of /proc/PID/stat, even with spaces and parentheses in the name', () => {
    expect(ttyNrOf('123 (a) b) c) S 1 123 123 34821 123 4194560 ...')).toBe(34821);
    expect(ttyNrOf('1 (init) S 0 1 1 0 -1 4194560')).toBe(0);
  });
});

describe.skipIf(!isRoot)('TtyNotifier on fixture trees (root: mknod, chown)', () => {
  function fixture() {
    const root = mkdtempSync(join(tmpdir(), 'dc-tty-'));
    dirs.push(root);
    const proc = `${root}/proc`;
    const dev = `${root}/dev`;
    mkdirSync(`${dev}/pts`, { recursive: true });
    const proc_ = (pid: number, uid: number, pts: number) => {
      mkdirSync(`${proc}/${pid}`, { recursive: true });
      writeFileSync(`${proc}/${pid}/stat`, `${pid} (bash) S 1 ${pid} ${pid} ${(136 << 8) | pts} ${pid} 0`);
      chownSync(`${proc}/${pid}`, uid, uid);
    };
    // Character devices that are really /dev/null (1,3): writes succeed and go nowhere.
    const pts = (n: number, uid: number, mode: string) => {
      execFileSync('/usr/bin/mknod', ['-m', mode, `${dev}/pts/${n}`, 'c', '1', '3']);
      chownSync(`${dev}/pts/${n}`, uid, 5);
    };
    return { proc, dev, proc_, pts };
  }

  it('writes to the user\'s own group-writable terminals only', async () => {
    const f = fixture();
    f.proc_(100, 4620, 1); // mesg y
    f.proc_(101, 4620, 2); // mesg n
    f.proc_(102, 4620, 3); // owned by someone else
    f.proc_(103, 4620, 4); // a symlink
    f.proc_(104, 4621, 5); // another user's process
    f.pts(1, 4620, '0620');
    f.pts(2, 4620, '0600');
    f.pts(3, 4621, '0620');
    f.pts(5, 4621, '0620');
    symlinkSync(`${f.dev}/pts/1`, `${f.dev}/pts/4`);
    const n = new TtyNotifier(silent, f.proc, f.dev);
    expect((await n.terminalsOf(4620)).sort()).toEqual([1, 2, 3, 4].map((i) => `${f.dev}/pts/${i}`));
    expect(await n.notify(4620, 'diycloud: test')).toBe(1);
    expect(await n.notify(4622, 'diycloud: test')).toBe(0);
  });
});

// TerminalNotifier over /proc and /dev: a short line on each terminal the user's processes hold, like write(1).

import { constants, promises as fsp } from 'node:fs';
import type { TerminalNotifier } from '../../core/event-ports';
import type { Logger } from '../../core/ports';

/** At most this many terminals per user get a line (a user with hundreds of ptys gets no flood from us). */
const MAX_TTYS = 16;

/**
 * The terminal a tty_nr (/proc/PID/stat field 7) names: Unix98 ptys (majors 136–143) and virtual
 * consoles (major 4, minors 1–63); null for anything else (no terminal, serial lines).
 */
export function ttyPath(ttyNr: number, devRoot = '/dev'): string | null {
  if (!Number.isInteger(ttyNr) || ttyNr <= 0) return null;
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `${devRoot}/pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor >= 1 && minor <= 63) return `${devRoot}/tty${minor}`;
  return null;
}

/** tty_nr from /proc/PID/stat text (the fields after the command name's closing parenthesis). */
export function ttyNrOf(statText: string): number | null {
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  const n = Number(rest[4]);
  return Number.isInteger(n) ? n : null;
}

/**
 * Each terminal is checked twice: lstat (a character device, not a symlink, owned by the user,
 * group-writable: "mesg n" clears that bit and write(1) honours it too), then opened with
 * O_WRONLY|O_NOCTTY|O_NONBLOCK|O_NOFOLLOW and fstat'ed, so a swap between the checks is caught. A
 * full terminal (EAGAIN) loses the line rather than blocking the daemon.
 */
export class TtyNotifier implements TerminalNotifier {
  constructor(private readonly log: Logger, private readonly procRoot = '/proc', private readonly devRoot = '/dev') {}

  async notify(uid: number, line: string): Promise<number> {
    try {
      let sent = 0;
      for (const tty of await this.terminalsOf(uid)) if (await this.writeTo(tty, uid, line)) sent++;
      return sent;
    } catch (e) {
      this.log.warn(`uid ${uid}: terminal message not sent: ${(e as Error).message}, ignoring`, { uid });
      return 0;
    }
  }

  /** The terminals held by the user's processes (found by the owner of /proc/PID and its tty_nr). */
  async terminalsOf(uid: number): Promise<string[]> {
    const ttys = new Set<string>();
    for (const name of await fsp.readdir(this.procRoot)) {
      if (!/^[0-9]+$/.test(name) || ttys.size >= MAX_TTYS) continue;
      try {
        const dir = `${this.procRoot}/${name}`;
        if ((await fsp.stat(dir)).uid !== uid) continue;
        const nr = ttyNrOf(await fsp.readFile(`${dir}/stat`, 'latin1'));
        const path = nr === null ? null : ttyPath(nr, this.devRoot);
        if (path) ttys.add(path);
      } catch {
        /* the process exited meanwhile */
      }
    }
    return [...ttys];
  }

  private async writeTo(path: string, uid: number, line: string): Promise<boolean> {
    const ok = (s: { uid: number; mode: number; isCharacterDevice(): boolean }) => s.isCharacterDevice() && s.uid === uid && (s.mode & 0o020) !== 0;
    try {
      const before = await fsp.lstat(path);
      if (!ok(before)) return false;
      const fh = await fsp.open(path, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      try {
        const after = await fh.stat();
        if (!ok(after) || after.rdev !== before.rdev) return false;
        // \r\n around the line: the terminal may be in raw mode, mid-line.
        await fh.write(`\r\n${line.replace(/[^\x20-\x7e]/g, '?')}\r\n`);
        return true;
      } finally {
        await fh.close();
      }
    } catch {
      return false; // gone, EAGAIN (full), EIO (hung up): the line is lost, never retried
    }
  }
}

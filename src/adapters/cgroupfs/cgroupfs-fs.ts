// The few file operations the cgroupfs backend needs, behind an interface so unit tests can use a temp dir tree.

import { chmodSync, closeSync, openSync, readFileSync, readdirSync, rmdirSync, mkdirSync, statSync, writeSync, constants } from 'node:fs';

/** What stat reports that the "ours" rule needs. */
export interface CgroupFsStat {
  readonly isDirectory: boolean;
  readonly uid: number;
  /** Permission bits only (mode & 0o7777). */
  readonly mode: number;
}

/**
 * Synchronous on purpose, like ProcessTable: cgroupfs and /proc are in-kernel files that answer in
 * microseconds, and the login path must not queue behind libuv's thread pool (which slow PAM or
 * NSS work can fill). Failures throw Node-style errors carrying `code` (ENOENT, EBUSY, ESRCH …).
 */
export interface CgroupFs {
  read(path: string): string;
  /** One write(2) of the whole value to an existing file (cgroupfs takes one value per write; never creates). */
  write(path: string, value: string): void;
  mkdir(path: string, mode: number): void;
  chmod(path: string, mode: number): void;
  rmdir(path: string): void;
  /** Names of the subdirectories of `path`. */
  subdirs(path: string): string[];
  /** null when nothing is at `path`. */
  stat(path: string): CgroupFsStat | null;
}

export const nodeCgroupFs: CgroupFs = {
  read: (path) => readFileSync(path, 'utf8'),
  write(path, value) {
    // O_WRONLY without O_CREAT/O_TRUNC: a missing control file (controller not there) is ENOENT, not a new file.
    const fd = openSync(path, constants.O_WRONLY);
    try {
      writeSync(fd, value);
    } finally {
      closeSync(fd);
    }
  },
  mkdir: (path, mode) => mkdirSync(path, { mode }),
  chmod: (path, mode) => chmodSync(path, mode),
  rmdir: (path) => rmdirSync(path),
  subdirs: (path) => readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name),
  stat(path) {
    try {
      const s = statSync(path);
      return { isDirectory: s.isDirectory(), uid: s.uid, mode: s.mode & 0o7777 };
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return null;
      throw e;
    }
  },
};

/** The errno name of a Node fs error ("ENOENT" …), or null. */
export function errnoOf(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** The file's content, or null when it does not exist (a controller that is not there). */
export function readOptional(fs: CgroupFs, path: string): string | null {
  try {
    return fs.read(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  }
}

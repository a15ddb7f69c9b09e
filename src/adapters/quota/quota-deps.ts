// What the quota adapters need from the host: the tools' paths, a RunFn, and a few file-system reads (all injectable).

import { constants } from 'node:fs';
import { access, readFile, realpath, stat } from 'node:fs/promises';
import type { RunFn } from '../exec/program-runner';
import { runProgram } from '../exec/run-program';

export interface QuotaToolPaths {
  /** quota-tools (Debian package "quota"). */
  readonly setquota: string;
  readonly repquota: string;
  readonly quotaon: string;
  /** btrfs-progs. */
  readonly btrfs: string;
}

export const QUOTA_TOOL_PATHS: QuotaToolPaths = { setquota: '/usr/sbin/setquota', repquota: '/usr/sbin/repquota', quotaon: '/usr/sbin/quotaon', btrfs: '/usr/bin/btrfs' };

/** One listing for a whole filesystem can be long: read it all or fail, never a silently cut list. */
export const LISTING_MAX_BYTES = 32 << 20;

/** What a stat(2) of a directory tells the btrfs adapter. */
export interface FileFacts {
  readonly ino: number;
  readonly uid: number;
  readonly isDirectory: boolean;
}

export interface QuotaDeps {
  readonly run: RunFn;
  readonly tools: QuotaToolPaths;
  /** The text of /proc/self/mountinfo. */
  readMountinfo(): Promise<string>;
  /** Resolves symlinks; rejects with an ENOENT/ENOTDIR error when the path does not exist. */
  realpath(path: string): Promise<string>;
  /** stat(2) (following symlinks); null when the path does not exist. */
  stat(path: string): Promise<FileFacts | null>;
  /** Whether a tool is installed (executable by root). */
  isExecutable(path: string): Promise<boolean>;
}

/** The real host: /proc/self/mountinfo, node:fs, and the given RunFn (the daemon passes its ProgramRunner's). */
export function systemQuotaDeps(run: RunFn = runProgram, tools: QuotaToolPaths = QUOTA_TOOL_PATHS): QuotaDeps {
  return {
    run,
    tools,
    readMountinfo: () => readFile('/proc/self/mountinfo', 'utf8'),
    realpath: (p) => realpath(p),
    stat: async (p) => {
      try {
        const s = await stat(p);
        return { ino: s.ino, uid: s.uid, isDirectory: s.isDirectory() };
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    isExecutable: (p) => access(p, constants.X_OK).then(() => true, () => false),
  };
}

/** ENOENT or ENOTDIR: the path (or a parent) is not there. */
export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

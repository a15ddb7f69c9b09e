// AccountDb through NSS (`getent passwd`), so local, LDAP and SSSD users all resolve; with a short cache.

import type { Account, AccountDb, Clock } from '../../core/ports';
import { isValidUsername } from '../../core/username';
import { DiycloudError } from '../../core/errors';
import { runProgram } from '../exec/run-program';

export interface GetentOptions {
  readonly getentPath?: string;
  /** How long a found account is cached; a miss is cached for a tenth of it. */
  readonly ttlMs?: number;
  readonly clock: Clock;
}

/**
 * Looks names up with `getent passwd -- NAME`. Exit status 2 means "no such key"; any other failure
 * is an error (the directory may be down) and is not cached. Hits are cached for `ttlMs` so the
 * login path does not fork for every session of the same user.
 */
export class GetentAccountDb implements AccountDb {
  private readonly cache = new Map<string, { at: number; account: Account | null }>();
  private readonly path: string;
  private readonly ttlMs: number;

  constructor(private readonly opts: GetentOptions) {
    this.path = opts.getentPath ?? '/usr/bin/getent';
    this.ttlMs = opts.ttlMs ?? 30_000;
  }

  forget(name: string): void {
    this.cache.delete(name);
  }

  async byUid(uid: number): Promise<Account | null> {
    const r = await runProgram(this.path, ['passwd', '--', String(uid)], { timeoutMs: 5_000, maxOutputBytes: 64 * 1024 });
    if (r.code === 2) return null;
    if (r.code !== 0) throw new DiycloudError('BackendFailed', `the name service could not look up uid ${uid}`, { cause: new Error(r.stderr.trim().slice(0, 200)) });
    const name = r.stdout.split(':')[0] ?? '';
    return parsePasswdLine(r.stdout.split('\n')[0] ?? '', name);
  }

  async byName(name: string): Promise<Account | null> {
    if (!isValidUsername(name)) return null;
    const now = this.opts.clock.now().getTime();
    const hit = this.cache.get(name);
    if (hit && now - hit.at < (hit.account ? this.ttlMs : this.ttlMs / 10)) return hit.account;
    const r = await runProgram(this.path, ['passwd', '--', name], { timeoutMs: 5_000, maxOutputBytes: 64 * 1024 });
    let account: Account | null = null;
    if (r.code === 0) {
      account = parsePasswdLine(r.stdout.split('\n')[0] ?? '', name);
    } else if (r.code !== 2) {
      throw new DiycloudError('BackendFailed', `the name service could not look up "${name}"`, { cause: new Error(`getent passwd exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`) });
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(name, { at: now, account });
    return account;
  }
}

/** Parses one passwd(5) line; returns null when it is malformed or names someone else. */
export function parsePasswdLine(line: string, expectName: string): Account | null {
  const f = line.split(':');
  if (f.length < 7 || f[0] !== expectName || !/^[0-9]{1,10}$/.test(f[2])) return null;
  return { name: f[0], uid: Number(f[2]) };
}

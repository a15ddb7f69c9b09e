// AccountDb through NSS (`getent passwd`, `getent group`), so local, LDAP and SSSD users all resolve; with a short cache.

import type { Account, AccountDb, Clock } from '../../core/ports';
import { isValidUsername } from '../../core/username';
import { DiycloudError } from '../../core/errors';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export interface GetentOptions {
  readonly getentPath?: string;
  /** How long a found account is cached; a miss is cached for a tenth of it. */
  readonly ttlMs?: number;
  readonly clock: Clock;
  /** How programs are started (the daemon passes its ProgramRunner, which caps them). */
  readonly run?: RunFn;
}

type Entry = { at: number; account: Account | null };

/**
 * Looks names up with `getent passwd -- NAME`. Exit status 2 means "no such key"; any other failure
 * is an error (the directory may be down) and is not cached. Hits are cached for `ttlMs` so the
 * login path does not fork for every session of the same user, and concurrent lookups of one key
 * share one child program.
 */
export class GetentAccountDb implements AccountDb {
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Account | null>>();
  private readonly path: string;
  private readonly ttlMs: number;
  private readonly run: RunFn;

  constructor(private readonly opts: GetentOptions) {
    this.path = opts.getentPath ?? '/usr/bin/getent';
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.run = opts.run ?? runProgram;
  }

  forget(name: string): void {
    this.cache.delete(`n:${name}`);
    for (const [k, e] of this.cache) if (k.startsWith('u:') && e.account?.name === name) this.cache.delete(k);
  }

  byUid(uid: number): Promise<Account | null> {
    return this.cached(`u:${uid}`, async () => {
      const r = await this.run(this.path, ['passwd', '--', String(uid)], { timeoutMs: 5_000, maxOutputBytes: 64 * 1024 });
      if (r.code === 2) return null;
      if (r.code !== 0) throw new DiycloudError('BackendFailed', `the name service could not look up uid ${uid}`, { cause: new Error(r.stderr.trim().slice(0, 200)) });
      const line = r.stdout.split('\n')[0] ?? '';
      const account = parsePasswdLine(line, line.split(':')[0] ?? '');
      return account && account.uid === uid ? account : null;
    });
  }

  async byName(name: string): Promise<Account | null> {
    if (!isValidUsername(name)) return null;
    return this.cached(`n:${name}`, async () => {
      const r = await this.run(this.path, ['passwd', '--', name], { timeoutMs: 5_000, maxOutputBytes: 64 * 1024 });
      if (r.code === 0) return parsePasswdLine(r.stdout.split('\n')[0] ?? '', name);
      if (r.code === 2) return null;
      throw new DiycloudError('BackendFailed', `the name service could not look up "${name}"`, { cause: new Error(`getent passwd exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`) });
    });
  }

  async groupExists(name: string): Promise<boolean> {
    if (!isValidUsername(name)) return false;
    const r = await this.run(this.path, ['group', '--', name], { timeoutMs: 5_000, maxOutputBytes: 1 << 20 });
    if (r.code === 0) return true;
    if (r.code === 2) return false;
    throw new DiycloudError('BackendFailed', `the name service could not look up group "${name}"`, { cause: new Error(`getent group exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`) });
  }

  private cached(key: string, lookup: () => Promise<Account | null>): Promise<Account | null> {
    const now = this.opts.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (hit.account ? this.ttlMs : this.ttlMs / 10)) return Promise.resolve(hit.account);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = lookup()
      .then((account) => {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(key, { at: now, account });
        return account;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}

/** Parses one passwd(5) line; returns null when it is malformed or names someone else. */
export function parsePasswdLine(line: string, expectName: string): Account | null {
  const f = line.split(':');
  if (f.length < 7 || f[0] !== expectName || !/^[0-9]{1,10}$/.test(f[2])) return null;
  // The home (field 6) is what a btrfs quota holds (its subvolume); an empty or relative one is none.
  const home = f[5] !== undefined && f[5].startsWith('/') ? f[5] : null;
  return { name: f[0], uid: Number(f[2]), home };
}

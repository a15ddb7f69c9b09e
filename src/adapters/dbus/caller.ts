// Who is calling: the sender's uid and pid, from the bus daemon (never from the arguments).

import type { BusClient } from './bus-client';

export interface Caller {
  readonly uid: number;
  readonly pid: number | null;
  readonly busName: string;
}

/**
 * Asks the bus for the sender's credentials (GetConnectionCredentials). Unique names are never
 * reused during a bus's lifetime and a connection's credentials cannot change, so answers are
 * cached, in a bounded map. A failed lookup is not cached, and the caller is then treated as
 * unauthorized by the router (any error in the authorization path means deny).
 */
export class CallerResolver {
  private readonly cache = new Map<string, Promise<Caller>>();

  constructor(private readonly client: BusClient, private readonly maxEntries = 4096) {}

  resolve(sender: string | undefined): Promise<Caller> {
    if (!sender || !sender.startsWith(':')) return Promise.reject(new Error(`message has no unique sender (${String(sender)})`));
    const hit = this.cache.get(sender);
    if (hit) return hit;
    const p = this.lookup(sender);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(sender, p);
    p.catch(() => this.cache.delete(sender));
    return p;
  }

  private async lookup(sender: string): Promise<Caller> {
    const [creds] = (await this.client.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'GetConnectionCredentials',
      signature: 's',
      body: [sender],
    })) as [Record<string, { value: unknown }>];
    const uid = creds?.UnixUserID?.value;
    const pid = creds?.ProcessID?.value;
    if (typeof uid !== 'number') throw new Error(`bus gave no UnixUserID for ${sender}`);
    return { uid, pid: typeof pid === 'number' ? pid : null, busName: sender };
  }
}

// Who is calling: the sender's uid and pid, from the bus daemon (never from the arguments).

import type { Caller } from '../../core/ports';
import type { BusClient } from './bus-client';

/** What the bus daemon reports about a sender's connection (the interactive flag comes with each message). */
export type Credentials = Omit<Caller, 'interactive'>;

/**
 * Asks the bus for the sender's credentials (GetConnectionCredentials). Unique names are never
 * reused during a bus's lifetime and a connection's credentials cannot change, so answers are
 * cached, in a bounded map, and concurrent calls from one new sender share one lookup. A failed
 * lookup is not cached, and the caller is then treated as unauthorized by the router (any error in
 * the authorization path means deny). The lookups go through a BusClient of their own, so they
 * never queue behind the daemon's other outgoing calls.
 */
export class CallerResolver {
  private readonly known = new Map<string, Credentials>();
  private readonly pending = new Map<string, Promise<Credentials>>();

  constructor(private readonly client: BusClient, private readonly maxEntries = 4096) {}

  /** The sender's identity when it is already known, without waiting. */
  cached(sender: string | undefined): Credentials | undefined {
    return sender === undefined ? undefined : this.known.get(sender);
  }

  resolve(sender: string | undefined): Promise<Credentials> {
    if (!sender || !sender.startsWith(':')) return Promise.reject(new Error(`message has no unique sender (${String(sender)})`));
    const hit = this.known.get(sender);
    if (hit) return Promise.resolve(hit);
    const inFlight = this.pending.get(sender);
    if (inFlight) return inFlight;
    const p = this.lookup(sender)
      .then((c) => {
        if (this.known.size >= this.maxEntries) this.known.delete(this.known.keys().next().value as string);
        this.known.set(sender, c);
        return c;
      })
      .finally(() => this.pending.delete(sender));
    this.pending.set(sender, p);
    return p;
  }

  private async lookup(sender: string): Promise<Credentials> {
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

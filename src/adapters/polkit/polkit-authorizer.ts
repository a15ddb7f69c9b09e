// Authorizer on polkit: CheckAuthorization with a system-bus-name subject (a web session's user: a unix-process subject).

import { Variant } from 'dbus-next';
import type { AuthorizationResult, Authorizer, Caller } from '../../core/ports';
import type { BusClient } from '../dbus/bus-client';

const ALLOW_USER_INTERACTION = 1;

/**
 * The subject is the caller's unique bus name (never a pid, which can be recycled, and never an
 * identity from the arguments). polkit resolves it to the process and session itself. Errors
 * propagate: the caller (app/authorize.ts) turns any error into a denial.
 */
export class PolkitAuthorizer implements Authorizer {
  /**
   * `self`: diycloudd's own pid and start time (field 22 of /proc/self/stat). A web session's caller
   * (kind "web", docs/security.md "The web path") is asked about as ("unix-process", {pid, start-time
   * of diycloudd, uid: the session's user}): polkit checks that process exists and evaluates its
   * rules for that uid (subject.user, subject.groups from NSS), with no session, as for an SSH login
   * that is not local. Only uid 0 may ask polkit about a subject of another uid.
   */
  constructor(private readonly client: BusClient, private readonly interactiveClient: BusClient, private readonly self?: { pid: number; startTime: bigint }) {}

  private subject(caller: Caller): [string, Record<string, Variant>] {
    if (caller.kind !== 'web') return ['system-bus-name', { name: new Variant('s', caller.busName) }];
    if (!this.self) throw new Error('no process identity for a web subject');
    return ['unix-process', { pid: new Variant('u', this.self.pid), 'start-time': new Variant('t', this.self.startTime), uid: new Variant('i', caller.uid) }];
  }

  async check(caller: Caller, action: string, details: Record<string, string>): Promise<AuthorizationResult> {
    const allowInteraction = caller.interactive;
    // An interactive check waits for a person to type a password: it gets its own client with a
    // long timeout, so it never holds up the login path's calls.
    const client = allowInteraction ? this.interactiveClient : this.client;
    const [result] = (await client.call({
      destination: 'org.freedesktop.PolicyKit1',
      path: '/org/freedesktop/PolicyKit1/Authority',
      interface: 'org.freedesktop.PolicyKit1.Authority',
      member: 'CheckAuthorization',
      signature: '(sa{sv})sa{ss}us',
      body: [this.subject(caller), action, details, allowInteraction ? ALLOW_USER_INTERACTION : 0, ''],
    })) as [[boolean, boolean, Record<string, string>]];
    const [authorized, challenge] = result;
    return authorized ? 'allowed' : challenge ? 'challenge' : 'denied';
  }
}

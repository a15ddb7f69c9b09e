// Authorizer on polkit: CheckAuthorization with a system-bus-name subject.

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
  constructor(private readonly client: BusClient, private readonly interactiveClient: BusClient) {}

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
      body: [['system-bus-name', { name: new Variant('s', caller.busName) }], action, details, allowInteraction ? ALLOW_USER_INTERACTION : 0, ''],
    })) as [[boolean, boolean, Record<string, string>]];
    const [authorized, challenge] = result;
    return authorized ? 'allowed' : challenge ? 'challenge' : 'denied';
  }
}

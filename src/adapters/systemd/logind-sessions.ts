// SessionAdmin on logind: ends all sessions of a user (TerminateUser).

import { DiycloudError } from '../../core/errors';
import type { SessionAdmin } from '../../core/ports';
import { RemoteError, type BusClient } from '../dbus/bus-client';

export class LogindSessions implements SessionAdmin {
  constructor(private readonly client: BusClient) {}

  async terminateUser(uid: number): Promise<void> {
    try {
      await this.client.call({ destination: 'org.freedesktop.login1', path: '/org/freedesktop/login1', interface: 'org.freedesktop.login1.Manager', member: 'TerminateUser', signature: 'u', body: [uid] });
    } catch (e) {
      // Nobody logged in, or no logind at all (then there are no logind sessions to end).
      if (e instanceof RemoteError && ['org.freedesktop.login1.NoSuchUser', 'org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner'].includes(e.remoteName)) return;
      throw new DiycloudError('BackendFailed', `logind: TerminateUser ${uid} failed`, { cause: e });
    }
  }
}

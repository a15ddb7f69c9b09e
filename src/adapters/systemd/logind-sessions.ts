// SessionAdmin on logind: ends all sessions of a user (TerminateUser) and reports sessions that end.

import type { Message } from 'dbus-next';
import { DiycloudError } from '../../core/errors';
import type { LoginSession, Logger, SessionAdmin } from '../../core/ports';
import { RemoteError, type BusClient } from '../dbus/bus-client';

const LOGIN1 = 'org.freedesktop.login1';
const MANAGER = 'org.freedesktop.login1.Manager';
const PATH = '/org/freedesktop/login1';

export class LogindSessions implements SessionAdmin {
  /** What each live session is, by logind session id: SessionRemoved only names the id. */
  private readonly known = new Map<string, LoginSession>();

  constructor(private readonly client: BusClient, private readonly log: Logger) {}

  async terminateUser(uid: number): Promise<void> {
    try {
      await this.client.call({ destination: LOGIN1, path: PATH, interface: MANAGER, member: 'TerminateUser', signature: 'u', body: [uid] });
    } catch (e) {
      // Nobody logged in, or no logind at all (then there are no logind sessions to end).
      if (e instanceof RemoteError && ['org.freedesktop.login1.NoSuchUser', 'org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner'].includes(e.remoteName)) return;
      throw new DiycloudError('BackendFailed', `logind: TerminateUser ${uid} failed`, { cause: e });
    }
  }

  async sessionCount(uid: number): Promise<number> {
    try {
      const [sessions] = (await this.client.call({ destination: LOGIN1, path: PATH, interface: MANAGER, member: 'ListSessions' })) as [unknown[][]];
      return sessions.filter((s) => Number(s[1]) === uid).length;
    } catch (e) {
      if (e instanceof RemoteError && ['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner'].includes(e.remoteName)) return 0;
      throw new DiycloudError('BackendFailed', 'logind: ListSessions failed', { cause: e });
    }
  }

  /**
   * Subscribes to SessionNew/SessionRemoved, then learns the sessions that exist already. Without
   * logind (no login1 on the bus) there is nothing to watch: a warning, and session records are
   * closed only by the hook's close_session call, if the PAM lines make one.
   */
  async watchEnded(onEnded: (s: LoginSession | { uid: number; service: null; tty: null }) => void): Promise<void> {
    const bus = this.client.bus;
    bus.on('message', (msg: Message) => {
      if (msg.type !== 4 /* SIGNAL */ || msg.interface !== MANAGER) return;
      const id = String(msg.body?.[0]);
      if (msg.member === 'SessionNew') {
        void this.learn(id, String(msg.body?.[1]));
      } else if (msg.member === 'SessionRemoved') {
        const s = this.known.get(id);
        this.known.delete(id);
        if (s) onEnded(s);
      } else if (msg.member === 'UserRemoved') {
        const uid = Number(msg.body?.[0]);
        if (Number.isInteger(uid)) onEnded({ uid, service: null, tty: null });
      }
    });
    for (const member of ['SessionNew', 'SessionRemoved', 'UserRemoved']) {
      await this.client.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [`type='signal',sender='${LOGIN1}',path='${PATH}',interface='${MANAGER}',member='${member}'`] });
    }
    let sessions: unknown[][];
    try {
      [sessions] = (await this.client.call({ destination: LOGIN1, path: PATH, interface: MANAGER, member: 'ListSessions' })) as [unknown[][]];
    } catch (e) {
      this.log.warn(`logind is not available (${(e as Error).message}); session ends are recorded only from PAM close_session calls`);
      return;
    }
    await Promise.all(sessions.map((row) => this.learn(String(row[0]), String(row[4]))));
  }

  private async learn(id: string, path: string): Promise<void> {
    const get = async (name: string): Promise<unknown> => {
      const [v] = (await this.client.call({ destination: LOGIN1, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: ['org.freedesktop.login1.Session', name] })) as [{ value: unknown }];
      return v.value;
    };
    try {
      const [user, service, tty] = await Promise.all([get('User'), get('Service'), get('TTY')]);
      this.known.set(id, { uid: Number((user as unknown[])[0]), service: String(service), tty: String(tty) });
    } catch (e) {
      this.log.debug(`could not read logind session ${id}: ${(e as Error).message}, ignoring`);
    }
  }
}

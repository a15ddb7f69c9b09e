// Unit: D-Bus error replies to catalogue codes and exit statuses; the interactive-authorization flag.
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import type { Message, MessageBus } from 'dbus-next';
import { ERROR_CATALOGUE, ERROR_CODES, dbusErrorName } from '../../../src/core/errors';
import { ManagerCallError, ManagerClient, fromDbusError } from '../../../src/adapters/dbus/manager-client';
import { describeFailure, UsageError } from '../../../src/entry/cli/errors';
import { createContext } from '../../../src/entry/cli/context';

describe('fromDbusError', () => {
  it('maps every catalogue error to its code and exit status, keeping the message', () => {
    for (const code of ERROR_CODES) {
      const e = fromDbusError(dbusErrorName(code), 'why');
      expect(e).toMatchObject({ code, exitCode: ERROR_CATALOGUE[code].exitCode, message: 'why' });
    }
  });
  it('maps the standard D-Bus errors', () => {
    for (const n of ['ServiceUnknown', 'NameHasNoOwner']) {
      const e = fromDbusError(`org.freedesktop.DBus.Error.${n}`, 'x');
      expect(e.exitCode).toBe(69);
      expect(e.message).toContain('systemctl start diycloudd');
    }
    expect(fromDbusError('org.freedesktop.DBus.Error.AccessDenied', 'Rejected send message')).toMatchObject({ code: 'PermissionDenied', exitCode: 4 });
    expect(fromDbusError('org.freedesktop.DBus.Error.NoReply', '').exitCode).toBe(75);
    expect(fromDbusError('org.freedesktop.DBus.Error.Timeout', '').exitCode).toBe(75);
    expect(fromDbusError('org.freedesktop.DBus.Error.UnknownMethod', 'no ListUsers')).toMatchObject({ code: 'Failed', exitCode: 1 });
    expect(fromDbusError('org.diycloud.Manager1.Error.Bogus', '')).toMatchObject({ code: 'Failed', exitCode: 1 });
  });
  it('describeFailure: usage errors exit 2, call errors their own status, anything else 1', () => {
    expect(describeFailure(new UsageError('bad'))).toEqual({ message: 'bad', exitCode: 2 });
    expect(describeFailure(new ManagerCallError('NoSuchUser', 'user "x" does not exist'))).toEqual({ message: 'user "x" does not exist', exitCode: 3 });
    expect(describeFailure(new Error('boom'))).toEqual({ message: 'boom', exitCode: 1 });
  });
});

/** A bus that records messages and answers with `answer`. */
function fakeBus(answer: (m: Message) => Promise<Message | null>): { bus: MessageBus; sent: Message[] } {
  const sent: Message[] = [];
  const bus = Object.assign(new EventEmitter(), { call: (m: Message) => (sent.push(m), answer(m)), disconnect: () => undefined });
  return { bus: bus as unknown as MessageBus, sent };
}

describe('ManagerClient', () => {
  it('sets ALLOW_INTERACTIVE_AUTHORIZATION (0x4) only when asked', async () => {
    const { bus, sent } = fakeBus(async () => ({ body: ['{}'] }) as unknown as Message);
    const c = ManagerClient.fromBus(bus, { address: 'x' });
    await c.call('Reconcile', '', [], { interactive: true });
    await c.call('Reconcile', '', []);
    expect(sent.map((m) => m.flags)).toEqual([4, 0]);
    expect(sent[0]).toMatchObject({ destination: 'org.diycloud.Manager1', path: '/org/diycloud/Manager1', interface: 'org.diycloud.Manager1', member: 'Reconcile' });
  });
  it('turns an error reply into a ManagerCallError with the catalogue code', async () => {
    const { bus } = fakeBus(async () => Promise.reject({ type: 'org.diycloud.Manager1.Error.NoSuchUser', text: 'user "x" does not exist' }));
    await expect(ManagerClient.fromBus(bus, { address: 'x' }).call('GetUser', 's', ['x'])).rejects.toMatchObject({ code: 'NoSuchUser', exitCode: 3, message: 'user "x" does not exist' });
  });
  it('gives up after the timeout with exit 75', async () => {
    const { bus } = fakeBus(() => new Promise(() => undefined));
    await expect(ManagerClient.fromBus(bus, { address: 'x', timeoutMs: 20 }).call('Reconcile', '', [])).rejects.toMatchObject({ exitCode: 75 });
  });
  it('a lost connection fails the call as Unavailable (69)', async () => {
    const { bus } = fakeBus(() => new Promise(() => undefined));
    const p = ManagerClient.fromBus(bus, { address: 'x' }).call('Reconcile', '', []);
    (bus as unknown as EventEmitter).emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await expect(p).rejects.toMatchObject({ exitCode: 69 });
  });
});

describe('interactive authorization', () => {
  const env = (over: { stdinIsTty: boolean; uid?: number }) => ({ env: {}, stdoutIsTty: false, uid: over.uid ?? 0, write: () => undefined, ...over });
  it('is asked for when stdin is a terminal, unless --no-ask-password', async () => {
    expect(await createContext({}, env({ stdinIsTty: true })).interactive()).toBe(true);
    expect(await createContext({ askPassword: false }, env({ stdinIsTty: true })).interactive()).toBe(false);
    expect(await createContext({}, env({ stdinIsTty: false })).interactive()).toBe(false);
  });
});

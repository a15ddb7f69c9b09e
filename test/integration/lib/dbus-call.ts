// Calls diycloudd with dbus-next directly, to see D-Bus error names (busctl prints only messages).

import * as dbus from 'dbus-next';
import { Message } from 'dbus-next';

/** Calls a Manager1 method; resolves with the reply body or the error name and message. */
export async function callDirect(address: string, member: string, signature: string, body: unknown[]): Promise<{ body?: unknown[]; error?: string; message?: string }> {
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  try {
    const reply = await bus.call(new Message({ destination: 'org.diycloud.Manager1', path: '/org/diycloud/Manager1', interface: 'org.diycloud.Manager1', member, signature, body }));
    return { body: reply?.body };
  } catch (e) {
    const de = e as { type?: string; text?: string };
    return { error: de.type, message: de.text };
  } finally {
    bus.disconnect();
  }
}

// marshallJsonArrayReturn writes, byte for byte, the message dbus-next marshals for JSON.stringify(items).

import { Message } from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { JsonArray, marshallJsonArrayReturn, sendJsonArrayReturn } from '../../../src/adapters/dbus/json-array-reply';

const { marshallMessage } = require('dbus-next/lib/marshall-compat') as { marshallMessage(m: Message): [Buffer, unknown[]] };
const { unmarshall } = require('dbus-next/lib/message') as { unmarshall(b: Buffer): { body: unknown[]; signature: string; serial: number; replySerial: number } };

const call = (sender: string | undefined) => Object.assign(new Message({ type: 1, serial: 41, path: '/org/diycloud/Manager1', interface: 'org.diycloud.Manager1', member: 'ListUsers', signature: 'a{sv}', body: [{}] }), { sender });

function expected(c: Message, serial: number, items: unknown[]): Buffer {
  const m = Message.newMethodReturn(c, 's', [JSON.stringify(items)]);
  m.serial = serial;
  return marshallMessage(m)[0];
}

const user = (i: number) => ({
  name: `u${i}`, uid: 300000 + i, managed: i % 3 !== 0, email: i % 5 ? null : `u${i}@example.org`, role: 'user',
  // Multi-byte UTF-8 (2, 3 and 4 bytes), quotes, backslashes and a NUL, which JSON escapes.
  note: ['é', '€ "q"', '😀 \\ \u0000', ''][i % 4],
  allocation: { cpu: 0.5, memory: 536870912, disk: 0, gpu: 'none', tasks: null },
  disk: [{ path: '/home', state: 'enforced', usedBytes: i * 1000, softBytes: null, hardBytes: null, overQuota: false }],
  events: [],
});

describe('marshallJsonArrayReturn', () => {
  for (const n of [0, 1, 63, 64, 65, 200, 1000]) {
    it(`matches dbus-next's marshalling of ${n} elements`, () => {
      const items = Array.from({ length: n }, (_, i) => user(i));
      const got = marshallJsonArrayReturn(call(':1.42'), 7, items);
      expect(got.equals(expected(call(':1.42'), 7, items))).toBe(true);
      const back = unmarshall(got);
      expect(back.signature).toBe('s');
      expect(back.serial).toBe(7);
      expect(back.replySerial).toBe(41);
      expect(JSON.parse(back.body[0] as string)).toEqual(JSON.parse(JSON.stringify(items)));
    });
  }

  it('matches without a destination (a call with no sender) and with other serials', () => {
    const items = [user(1), user(2)];
    expect(marshallJsonArrayReturn(call(undefined), 123456, items).equals(expected(call(undefined), 123456, items))).toBe(true);
  });

  it('text() is the string the ordinary path sends', () => {
    const items = [user(1), user(4)];
    expect(new JsonArray(items).text()).toBe(JSON.stringify(items));
  });
});

describe('sendJsonArrayReturn', () => {
  const bus = (stream: object | undefined) => ({ _connection: stream === undefined ? {} : { stream }, newSerial: () => 9 }) as never;

  it('writes the one buffer on the connection stream', () => {
    const written: Buffer[] = [];
    const ok = sendJsonArrayReturn(bus({ writable: true, write: (b: Buffer) => written.push(b) > 0 }), call(':1.5'), new JsonArray([user(3)]));
    expect(ok).toBe(true);
    expect(written).toHaveLength(1);
    expect(written[0].equals(expected(call(':1.5'), 9, [user(3)]))).toBe(true);
  });

  it('declines (the caller then sends text()) without a plain stream', () => {
    expect(sendJsonArrayReturn(bus(undefined), call(':1.5'), new JsonArray([]))).toBe(false);
    expect(sendJsonArrayReturn(bus({ writable: true, supportsUnixFd: true, write: () => true }), call(':1.5'), new JsonArray([]))).toBe(false);
  });

  it('refuses a closed stream, as dbus-next does', () => {
    expect(() => sendJsonArrayReturn(bus({ writable: false, write: () => true }), call(':1.5'), new JsonArray([]))).toThrow(/closed/);
  });
});

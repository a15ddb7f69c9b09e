// A method return whose one string argument is a large JSON array (ListUsers): marshalled straight into one Buffer.

import { Message, type MessageBus } from 'dbus-next';
// dbus-next's own message marshaller, the one its connection uses: it writes our header, so the bytes are its own.
const { marshallMessage } = require('dbus-next/lib/marshall-compat') as { marshallMessage(m: Message): [Buffer, unknown[]] };

/**
 * A reply body that is JSON.stringify(items) as D-Bus type `s`. The router sends it with
 * sendJsonArrayReturn; `text()` is the same string, for the ordinary path.
 */
export class JsonArray {
  constructor(readonly items: readonly unknown[]) {}

  text(): string {
    return JSON.stringify(this.items);
  }
}

/** Elements per JSON.stringify call: with ~600 bytes per user, chunks stay far below V8's large-object size (128 KiB). */
const CHUNK_ITEMS = 64;
const LITTLE_ENDIAN = 0x6c; // 'l', what dbus-next writes
const EMPTY_STRING_BODY_BYTES = 5; // u32 length 0, then the terminating NUL

/**
 * The whole message (header and body) of the method return to `call` carrying JSON.stringify(items),
 * byte for byte what dbus-next would marshal (a unit test holds the two together), made without
 * the one multi-MB string and its three copies the ordinary path makes: with 10,000 users (5.6 MB)
 * each of those is a fresh allocation whose page faults alone cost ~25 ms on this host.
 * The elements are plain data (no toJSON, no undefined), as every reply of ours is.
 */
export function marshallJsonArrayReturn(call: Message, serial: number, items: readonly unknown[]): Buffer {
  const chunks: string[] = [];
  for (let i = 0; i < items.length; i += CHUNK_ITEMS) chunks.push(JSON.stringify(items.slice(i, i + CHUNK_ITEMS)).slice(1, -1));
  let textBytes = 2 + Math.max(0, chunks.length - 1); // the brackets and the commas between chunks
  for (const c of chunks) textBytes += Buffer.byteLength(c, 'utf8');
  // dbus-next marshals the header (serial, reply serial, destination, signature) with an empty string as the body.
  const reply = Message.newMethodReturn(call, 's', ['']);
  reply.serial = serial;
  const [empty] = marshallMessage(reply);
  if (empty[0] !== LITTLE_ENDIAN) throw new Error('dbus-next wrote a big-endian header');
  const headerBytes = empty.length - EMPTY_STRING_BODY_BYTES; // already padded to 8, where the body starts
  const out = Buffer.allocUnsafe(headerBytes + 4 + textBytes + 1);
  empty.copy(out, 0, 0, headerBytes);
  out.writeUInt32LE(4 + textBytes + 1, 4); // the header's body length
  out.writeUInt32LE(textBytes, headerBytes);
  let at = headerBytes + 4;
  out[at++] = 0x5b; // [
  chunks.forEach((c, k) => {
    if (k > 0) out[at++] = 0x2c; // ,
    at += out.write(c, at, 'utf8');
  });
  out[at++] = 0x5d; // ]
  out[at++] = 0; // D-Bus strings end in NUL; JSON.stringify never writes a raw one (it escapes U+0000)
  if (at !== out.length) throw new Error(`JSON reply marshalled to ${at} of ${out.length} bytes`);
  return out;
}

interface RawStream {
  writable?: boolean;
  supportsUnixFd?: boolean;
  write(data: Buffer): boolean;
}

/**
 * Writes the reply on `bus`'s socket, as dbus-next's connection.message() does once connected
 * (same stream, same order as every other message). Returns false where that stream is not the
 * plain socket this was written for (a dbus-next without `_connection.stream`, or a unix-fd
 * capable one): the caller then sends `text()` the ordinary way.
 */
export function sendJsonArrayReturn(bus: MessageBus, call: Message, body: JsonArray): boolean {
  const stream = (bus as unknown as { _connection?: { stream?: RawStream } })._connection?.stream;
  if (!stream || typeof stream.write !== 'function' || stream.supportsUnixFd || typeof bus.newSerial !== 'function') return false;
  if (!stream.writable) throw new Error('Cannot send message, stream is closed');
  stream.write(marshallJsonArrayReturn(call, bus.newSerial(), body.items));
  return true;
}

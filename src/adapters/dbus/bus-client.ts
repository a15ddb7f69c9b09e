// Outgoing D-Bus calls with a timeout and a cap on calls in flight (dbus-next has neither).

import { Message, type MessageBus } from 'dbus-next';
import { TwoLaneQueue, type PriorityLane } from '../async/priority-lane';

export interface CallSpec {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  readonly body?: unknown[];
  /** Message header flags, e.g. 0x4 ALLOW_INTERACTIVE_AUTHORIZATION. */
  readonly flags?: number;
}

/** A D-Bus error reply, with the remote error name kept. */
export class RemoteError extends Error {
  constructor(readonly remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.name = 'RemoteError';
  }
}

export interface BusClientOptions {
  readonly timeoutMs: number;
  readonly maxInFlight: number;
  /** When given, calls made on behalf of the login path wait ahead of the others. */
  readonly lane?: PriorityLane;
}

/**
 * dbus-daemon allows a connection at most 128 pending replies (max_replies_per_connection); past
 * that it answers LimitsExceeded. So calls beyond `maxInFlight` wait in a FIFO here (urgent ones,
 * see PriorityLane, first). Several clients may share one connection: their caps together must
 * stay under 128. Every call gives up after `timeoutMs`; a late reply is then dropped by dbus-next.
 */
export class BusClient {
  private inFlight = 0;
  private readonly waiting = new TwoLaneQueue();

  constructor(readonly bus: MessageBus, private readonly opts: BusClientOptions = { timeoutMs: 5_000, maxInFlight: 64 }) {}

  /** Calls now waiting for a reply (for tests and diagnostics). */
  get pending(): number {
    return this.inFlight;
  }

  async call(spec: CallSpec): Promise<unknown[]> {
    // A freed slot is handed straight to the oldest waiter (never released and re-taken), so a
    // caller arriving in between cannot push the count past the cap.
    if (this.inFlight >= this.opts.maxInFlight) await new Promise<void>((r) => this.waiting.push(r, this.opts.lane?.isUrgent() ?? false));
    else this.inFlight++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = this.bus.call(new Message({ ...spec, signature: spec.signature ?? '', body: spec.body ?? [] }));
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RemoteError('org.freedesktop.DBus.Error.Timeout', `${spec.destination} ${spec.member} timed out after ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
      });
      const msg = await Promise.race([reply, timeout]).catch((e: unknown) => {
        throw toRemoteError(e);
      });
      return (msg?.body ?? []) as unknown[];
    } finally {
      clearTimeout(timer);
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }
}

function toRemoteError(e: unknown): Error {
  if (e instanceof RemoteError) return e;
  const de = e as { type?: string; text?: string; message?: string };
  if (typeof de?.type === 'string') return new RemoteError(de.type, de.text ?? de.message ?? '');
  return e instanceof Error ? e : new Error(String(e));
}

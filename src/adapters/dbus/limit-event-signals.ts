// The LimitEvent(u uid, s resource, s kind, t count) signal on /org/diycloud/Manager1.

import { Message, type MessageBus } from 'dbus-next';
import type { LimitEventSignals } from '../../core/event-ports';
import type { LimitKind, LimitResource } from '../../core/limit-events';
import { MANAGER_NAME, MANAGER_PATH } from './manager-object';

export class BusLimitEventSignals implements LimitEventSignals {
  constructor(private readonly bus: MessageBus) {}

  limitEvent(uid: number, resource: LimitResource, kind: LimitKind, count: number): void {
    // 't' travels as a BigInt in dbus-next; counts are whole and far below 2^53.
    this.bus.send(Message.newSignal(MANAGER_PATH, MANAGER_NAME, 'LimitEvent', 'usst', [uid, resource, kind, BigInt(Math.max(0, Math.round(count)))]));
  }
}

// Events as D-Bus signals on /org/diycloud/Manager1.

import { Message, type MessageBus } from 'dbus-next';
import type { Events } from '../../core/ports';
import { MANAGER_NAME, MANAGER_PATH } from './manager-object';

export class BusEvents implements Events {
  constructor(private readonly bus: MessageBus) {}

  emit(signal: 'UserAdded' | 'UserChanged' | 'UserRemoved', name: string, uid: number): void {
    this.bus.send(Message.newSignal(MANAGER_PATH, MANAGER_NAME, signal, 'su', [name, uid]));
  }
}

// The RequestChanged(u id, s user, s state) signal on /org/diycloud/Manager1.

import { Message, type MessageBus } from 'dbus-next';
import type { RequestState } from '../../core/limit-request';
import type { RequestSignals } from '../../core/request-ports';
import { MANAGER_NAME, MANAGER_PATH } from './manager-object';

export class BusRequestSignals implements RequestSignals {
  constructor(private readonly bus: MessageBus) {}

  changed(id: number, user: string, state: RequestState): void {
    this.bus.send(Message.newSignal(MANAGER_PATH, MANAGER_NAME, 'RequestChanged', 'uss', [id, user, state]));
  }
}

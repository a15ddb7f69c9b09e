// The ports of the "request more" queue besides its store: the RequestChanged signal and the decision mail.

import type { RequestState, RequestStore } from './limit-request';

/** RequestChanged(u id, s user, s state) on /org/diycloud/Manager1. */
export interface RequestSignals {
  changed(id: number, user: string, state: RequestState): void;
}

/** Hands one message (headers, blank line, body) to the local mail system for one recipient. */
export interface Mailer {
  send(recipient: string, message: string): Promise<void>;
}

export interface RequestServices {
  readonly store: RequestStore;
  readonly signals: RequestSignals;
  /** null: [Requests] Mailer is empty (the default), no mail is sent. */
  readonly mailer: Mailer | null;
}

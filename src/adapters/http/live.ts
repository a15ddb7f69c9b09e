// The live stream's pollers: one per (session user, target user), calling GetUsage through
// Web1.Call every interval while at least one client listens; stopped when the last one leaves.

import { errorAnswer } from '../../core/web-policy';
import type { Web1Port } from '../dbus/web-client';

export interface LiveClient {
  /** The client's own session token (a poll uses one of the listening clients' tokens). */
  readonly token: string;
  send(event: string, data: string): void;
  /** Ends this client's stream (its session expired). */
  close(): void;
}

interface Poller {
  readonly clients: Set<LiveClient>;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
}

export class LiveHub {
  private readonly pollers = new Map<string, Poller>();

  constructor(private readonly web: Web1Port, private readonly intervalMs: number) {}

  /** Pollers running now (tests). */
  get size(): number {
    return this.pollers.size;
  }

  /** Adds a client; returns the function that removes it. */
  join(sessionUser: string, target: string, client: LiveClient): () => void {
    const key = `${sessionUser}\0${target}`;
    let p = this.pollers.get(key);
    if (!p) {
      const poller: Poller = { clients: new Set(), timer: undefined, busy: false };
      poller.timer = setInterval(() => void this.tick(key, poller, target), this.intervalMs);
      this.pollers.set(key, poller);
      p = poller;
    }
    p.clients.add(client);
    void this.tick(key, p, target, client);
    const poller = p;
    return () => this.leave(key, poller, client);
  }

  private leave(key: string, p: Poller, client: LiveClient): void {
    p.clients.delete(client);
    if (p.clients.size === 0 && this.pollers.get(key) === p) {
      clearInterval(p.timer);
      this.pollers.delete(key);
    }
  }

  private async tick(key: string, p: Poller, target: string, only?: LiveClient): Promise<void> {
    if (p.busy && !only) return;
    if (!only) p.busy = true;
    try {
      while (p.clients.size > 0) {
        const via = only ?? [...p.clients][p.clients.size - 1];
        try {
          const [text] = await this.web.call(via.token, 'GetUsage', 'as', [[target]]);
          const usage = JSON.parse(String(text)) as { sampledAt?: string; users?: Record<string, unknown> };
          const data = JSON.stringify({ user: target, sampledAt: usage.sampledAt ?? null, ...((usage.users?.[target] as object) ?? { live: false }) });
          for (const c of only ? [only] : p.clients) c.send('usage', data);
          return;
        } catch (e) {
          const a = errorAnswer(e);
          if (a.body.error.code === 'SessionExpired') {
            via.send('error', JSON.stringify(a.body));
            via.close();
            this.leave(key, p, via);
            if (only) return;
            continue;
          }
          for (const c of only ? [only] : p.clients) c.send('error', JSON.stringify(a.body));
          return;
        }
      }
    } finally {
      if (!only) p.busy = false;
    }
  }

  stop(): void {
    for (const p of this.pollers.values()) clearInterval(p.timer);
    this.pollers.clear();
  }
}

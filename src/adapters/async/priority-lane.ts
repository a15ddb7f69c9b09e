// Marks work done on behalf of the login path (root's calls) so that shared queues serve it first.

import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The router runs root's calls inside `urgent(...)`; every queue that calls can wait in (outgoing
 * bus calls, child programs) asks `isUrgent()` when it has to queue, and puts urgent waiters ahead
 * of the others. One instance per daemon, made by the composition root and handed to each queue:
 * there is no global. Outside any `urgent(...)` everything is ordinary.
 */
export class PriorityLane {
  private readonly als = new AsyncLocalStorage<true>();

  urgent<T>(fn: () => T): T {
    return this.als.run(true, fn);
  }

  isUrgent(): boolean {
    return this.als.getStore() === true;
  }
}

/**
 * A FIFO of waiters with an urgent lane served first. `push` returns false when `maxQueued` are
 * already waiting in the waiter's lane (the caller then refuses the work with Busy); urgent waiters
 * are never refused.
 */
export class TwoLaneQueue {
  private readonly urgentQ: (() => void)[] = [];
  private readonly normalQ: (() => void)[] = [];

  constructor(private readonly maxQueued = Infinity) {}

  get length(): number {
    return this.urgentQ.length + this.normalQ.length;
  }

  push(wake: () => void, urgent: boolean): boolean {
    if (urgent) this.urgentQ.push(wake);
    else if (this.normalQ.length >= this.maxQueued) return false;
    else this.normalQ.push(wake);
    return true;
  }

  shift(): (() => void) | undefined {
    return this.urgentQ.shift() ?? this.normalQ.shift();
  }
}

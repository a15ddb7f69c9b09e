// A cap on child programs running at once, with a queue in which the login path goes first.

import { DiycloudError } from '../../core/errors';
import { TwoLaneQueue, type PriorityLane } from '../async/priority-lane';
import { runProgram, type RunOptions, type RunResult } from './run-program';

export type RunFn = (path: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface ProgramLimits {
  /** Child programs running at once (getent, useradd, usermod …). */
  readonly maxRunning: number;
  /** Ordinary requests waiting beyond that; past this they get Busy at once. */
  readonly maxQueued: number;
}

/** Defaults documented in docs/security.md ("Limits under load"). */
export const PROGRAM_LIMITS: ProgramLimits = { maxRunning: 16, maxQueued: 256 };

/**
 * Wraps runProgram: at most `maxRunning` children at a time. Work of the login path (see
 * PriorityLane) queues ahead of everything else and is never refused; other work waits in a
 * bounded FIFO, and is refused with Busy when that is full, so no caller can make the daemon fork
 * without bound. A slot freed by one child is handed straight to the next waiter.
 */
export class ProgramRunner {
  private running = 0;
  private readonly waiting: TwoLaneQueue;

  constructor(private readonly lane: PriorityLane, private readonly limits: ProgramLimits = PROGRAM_LIMITS, private readonly exec: RunFn = runProgram) {
    this.waiting = new TwoLaneQueue(limits.maxQueued);
  }

  /** Children running now (for tests and diagnostics). */
  get active(): number {
    return this.running;
  }

  readonly run: RunFn = async (path, args, opts) => {
    if (this.running >= this.limits.maxRunning) {
      await new Promise<void>((resolve, reject) => {
        if (!this.waiting.push(resolve, this.lane.isUrgent())) {
          reject(new DiycloudError('Busy', 'too many programs waiting to run; retry later'));
        }
      });
    } else this.running++;
    try {
      return await this.exec(path, args, opts);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  };
}

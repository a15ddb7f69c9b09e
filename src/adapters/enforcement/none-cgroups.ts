// SliceManager for hosts without systemd as PID 1: nothing is enforced, and it says so.

import type { SliceManager } from '../../core/ports';

/**
 * Backend "none": the daemon still answers every call and records sessions, but no slice exists to
 * limit. Reported as Backend="none" so an admin can see at once that nothing is enforced.
 */
export class NoSliceManager implements SliceManager {
  readonly backend = 'none';
  async listUserSlices(): Promise<number[]> {
    return [];
  }
  async observe(): Promise<null> {
    return null;
  }
  async apply(): Promise<void> {}
  async watch(): Promise<void> {}
  /** No slice to move a login process into: the caller logs it and goes on. */
  async placeProcess(): Promise<'unsupported'> {
    return 'unsupported';
  }
}

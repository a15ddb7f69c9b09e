// CgroupLimits for hosts where nothing can hold a user: nothing is enforced, and it says so.

import type { CgroupLimits } from '../../core/ports';

/**
 * Backend "none": the daemon still answers every call and records sessions, but no cgroup exists
 * to limit. Reported as Backend="none" (and by diycloudctl doctor) so an admin sees at once that
 * nothing is enforced.
 */
export class NoCgroupLimits implements CgroupLimits {
  readonly backend = 'none';
  async listUsers(): Promise<number[]> {
    return [];
  }
  async observe(): Promise<null> {
    return null;
  }
  async apply(): Promise<void> {}
  async watch(): Promise<void> {}
  /** No cgroup to move a login process into: the caller logs it and goes on. */
  async placeProcess(): Promise<'unsupported'> {
    return 'unsupported';
  }
  async release(): Promise<boolean> {
    return false;
  }
}

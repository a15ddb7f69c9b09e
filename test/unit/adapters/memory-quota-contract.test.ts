// The in-memory QuotaBackend fake passes the QuotaBackend port contract (as the btrfs adapter does on a real loop device).

import { describe, it } from 'vitest';
import { MemoryQuota } from '../../fakes/memory-quota';
import { QUOTA_CONTRACT } from '../../contract/quota-backend-contract';

describe('MemoryQuota honours the QuotaBackend contract', () => {
  const quota = new MemoryQuota('/home');
  it.each(QUOTA_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await c.run({ quota, owner: { uid: 1000, name: 'alice', home: '/home/alice' }, unholdable: null });
  });
});

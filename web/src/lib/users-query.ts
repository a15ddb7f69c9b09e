// The users table's state -> /api/v1/users query string. No DOM.
import { qs } from './api';

export interface UsersFilter { search: string; role: string; enabled: '' | 'true' | 'false'; overQuota: boolean; hasGpu: boolean; sort: string; order: 'asc' | 'desc'; offset: number }

export function usersQuery(f: UsersFilter, limit: number): string {
  return qs({
    search: f.search.trim() || undefined,
    role: f.role || undefined,
    enabled: f.enabled || undefined,
    overQuota: f.overQuota ? 'true' : undefined,
    hasGpu: f.hasGpu ? 'true' : undefined,
    sort: f.sort, order: f.order, offset: f.offset, limit,
  });
}

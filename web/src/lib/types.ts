// JSON shapes of the portal API (docs/dbus-api.md, the portal contracts).
export type Source = 'user' | 'role' | 'default';
export interface Allocation { cpu: number; memory: number; disk: number; gpu: string; tasks: number | null }
export interface DiskView { path: string; state: string; usedBytes: number | null; softBytes: number | null; hardBytes: number | null; overQuota: boolean }
export interface UserView {
  name: string; uid: number; managed: boolean; inDatabase: boolean; email: string | null; role: string; enabled: boolean;
  created: string | null; lastLogin: string | null; allocation: Allocation;
  sources: Record<'cpu' | 'memory' | 'disk' | 'gpu' | 'tasks', Source>;
  cgroup: { exists: boolean; settings: Record<string, number | string> | null; memoryCurrentBytes: number | null; cpuUsageNsec: number | null; tasksCurrent: number | null };
  disk: DiskView[];
  events: { at: string; resource: string; kind: string; count: number }[];
}
/** GetUsage's figures for one user (docs/dbus-api.md); `measured` is absent from a daemon older than it (then: measured). */
export interface LiveUsage { cpuPercent: number | null; memoryBytes: number | null; diskBytes: number | null; tasks: number | null; live: boolean; measured?: boolean }
export interface LimitEvents { events: { at: string; user: string; uid: number; kind: string; detail?: string; resource?: string; count?: number }[] }
export interface UsersPage { total: number; offset: number; limit: number; users: UserView[] }
export interface SessionsList { sessions: { service: string; tty: string | null; rhost: string | null; openedAt: string; closedAt: string | null }[] }
export interface LimitRequest { id: number; user: string; uid: number; resource: string; amount: string; reason: string; state: string; filedAt: string; decidedAt: string | null; decidedBy: string | number | null; decisionReason: string | null; applied: boolean }
export interface RequestsList { requests: LimitRequest[]; total?: number }
export interface Profile { role: string; builtin: boolean; unixGroup: string | null; members: number; profile: { cpu: number | null; memory: string | null; disk: string | null; gpu: string | null; tasks: number | null }; allocation: Allocation }
export interface AuditRow { id: number; at: string; callerUid: number; callerPid: number | null; action: string; target: string; result: string; detail: string }
export interface HostSummary {
  cpu: { capacityCores: number; allocatedCores: number; usedPercent: number };
  memory: { capacityBytes: number; allocatedBytes: number; usedBytes: number };
  disk: { path: string; capacityBytes: number | null; allocatedBytes: number; usedBytes: number | null }[];
  gpus: { index: number; name: string; holders: string[] }[];
  overcommit: { cpu: number; memory: number };
  over: { user: string; resource: string; usage: number | string; limit: number | string }[];
}

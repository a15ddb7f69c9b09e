// GpuGroupStore on SQLite: the gpu_group_members table (schema/008), on the daemon's one Database handle.

import type Database from 'better-sqlite3';
import type { GpuGroupStore } from '../../core/enforcement-ports';

export class SqliteGpuGroups implements GpuGroupStore {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      list: db.prepare('SELECT group_name FROM gpu_group_members WHERE uid = ? ORDER BY group_name'),
      add: db.prepare('INSERT OR IGNORE INTO gpu_group_members (uid, group_name, added_at) VALUES (?, ?, ?)'),
      forget: db.prepare('DELETE FROM gpu_group_members WHERE uid = ? AND group_name = ?'),
    };
  }

  addedGroups(uid: number): string[] {
    return (this.q.list.all(uid) as { group_name: string }[]).map((r) => r.group_name);
  }

  recordAdded(uid: number, group: string, at: string): void {
    this.q.add.run(uid, group, at);
  }

  forgetAdded(uid: number, group: string): void {
    this.q.forget.run(uid, group);
  }
}

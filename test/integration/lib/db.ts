// Direct access to a daemon's database from tests (the daemon re-reads it on every call).

import Database from 'better-sqlite3';

export function addDbUser(dbPath: string, u: { name: string; uid: number; active?: boolean; cpu?: number | null; memory?: string | null; tasks?: number | null }): void {
  const db = new Database(dbPath);
  try {
    db.pragma('busy_timeout = 5000');
    const id = db.prepare('INSERT INTO users (username, uid, is_active) VALUES (?, ?, ?)').run(u.name, u.uid, u.active === false ? 0 : 1).lastInsertRowid;
    db.prepare('INSERT INTO resource_allocations (user_id, cpu_limit, mem_limit, tasks_max) VALUES (?, ?, ?, ?)').run(id, u.cpu ?? null, u.memory ?? null, u.tasks ?? null);
  } finally {
    db.close();
  }
}

export function sql<T = unknown>(dbPath: string, query: string, ...params: unknown[]): T[] {
  const db = new Database(dbPath);
  try {
    db.pragma('busy_timeout = 5000');
    const st = db.prepare(query);
    return (st.reader ? st.all(...params) : (st.run(...params), [])) as T[];
  } finally {
    db.close();
  }
}

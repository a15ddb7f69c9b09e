// Unit: schema migrations carry old data over (a real SQLite database, migrated step by step).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../src/adapters/store/migrate';

const all = loadMigrations(join(__dirname, '../../../schema'));

describe('006: the GPU flag becomes a grant', () => {
  it('1 = "all", 0 = "none", NULL stays NULL, for users and role profiles; the flag column is gone', () => {
    const db = new Database(':memory:');
    migrate(db, all.slice(0, 5));
    const add = (name: string, uid: number, gpu: number | null) => {
      const id = db.prepare("INSERT INTO users (username, uid, role, created_at) VALUES (?, ?, 'user', 'now')").run(name, uid).lastInsertRowid;
      db.prepare('INSERT INTO resource_allocations (user_id, gpu_access) VALUES (?, ?)').run(id, gpu);
    };
    add('yes', 1000, 1);
    add('no', 1001, 0);
    add('inherit', 1002, null);
    db.prepare("INSERT INTO roles (name, gpu_access) VALUES ('gpu', 1)").run();
    expect(migrate(db, all)).toMatchObject({ from: 5, to: all.length });
    const users = db.prepare('SELECT u.username, a.gpus FROM users u JOIN resource_allocations a ON a.user_id = u.id ORDER BY u.uid').all();
    expect(users).toEqual([{ username: 'yes', gpus: 'all' }, { username: 'no', gpus: 'none' }, { username: 'inherit', gpus: null }]);
    expect(db.prepare("SELECT name, gpus FROM roles WHERE name IN ('gpu', 'user') ORDER BY name").all()).toEqual([{ name: 'gpu', gpus: 'all' }, { name: 'user', gpus: null }]);
    const cols = (t: string) => (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
    expect(cols('resource_allocations')).not.toContain('gpu_access');
    expect(cols('roles')).not.toContain('gpu_access');
  });
  it('the CHECK keeps a hand edit to none, all or a digit list', () => {
    const db = new Database(':memory:');
    migrate(db, all);
    const id = db.prepare("INSERT INTO users (username, uid, role, created_at) VALUES ('a', 1000, 'user', 'now')").run().lastInsertRowid;
    db.prepare('INSERT INTO resource_allocations (user_id) VALUES (?)').run(id);
    const set = (v: string) => db.prepare('UPDATE resource_allocations SET gpus = ? WHERE user_id = ?').run(v, id);
    for (const ok of ['none', 'all', '0', '0,2']) expect(() => set(ok)).not.toThrow();
    for (const bad of ['', 'yes', '0;1', '-1']) expect(() => set(bad), bad).toThrow(/CHECK/);
  });
});

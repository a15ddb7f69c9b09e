// Applies schema/NNN-*.sql migrations in order, tracked by PRAGMA user_version.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function loadMigrations(dir: string): Migration[] {
  const list = readdirSync(dir)
    .map((f) => /^([0-9]{3})-[a-z0-9-]+\.sql$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[0], sql: readFileSync(join(dir, m[0]), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`schema: expected migration ${i + 1}, found ${m.name}`);
  });
  return list;
}

/**
 * Each pending migration runs in its own transaction together with the user_version bump, so a
 * crash leaves the database at a whole version. A database newer than this build is refused
 * (a downgrade would silently drop data).
 */
export function migrate(db: Database.Database, migrations: Migration[]): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) {
    throw new Error(`database schema version ${from} is newer than this diycloudd (${migrations.length}); refusing to downgrade`);
  }
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: migrations.length };
}

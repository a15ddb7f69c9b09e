// Benchmark 3: Reconcile with 10,000 users in the database and 200 live user slices (real systemd in the container).
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { MGR } from '../test/e2e/lib/login-env';

export interface ReconcileRun { label: string; wallMs: number; durationMs: number; slices: number; managed: number; changed: number; errors: number }
export interface ReconcileResult { dbUsers: number; liveSlices: number; runs: ReconcileRun[]; restartMs: number; startupLine: string }

/**
 * The live slices come from `systemd-run --uid=U -p Slice=user-UID.slice sleep infinity` (no user
 * manager, so 200 of them are cheap). diycloudd enforces each new slice as it appears (UnitNew); then
 * every allocation in the database is changed, so the first Reconcile must change all 200 slices and
 * the second none. Wall time is busctl's call measured inside the container.
 */
export async function makeLiveSlices(e: LoginEnv, liveUsers: { name: string; uid: number }[]): Promise<void> {
  const { c } = e;
  const lines = liveUsers.map((u) => `systemd-run -q --uid=${u.name} --unit=bench-live-${u.uid} -p Slice=user-${u.uid}.slice sleep infinity`);
  for (let i = 0; i < lines.length; i += 50) await c.exec(lines.slice(i, i + 50).join('\n'), { timeoutMs: 300_000 });
  const want = liveUsers.length;
  const count = async () => Number((await c.exec(`systemctl list-units --no-legend --state=active 'user-2????.slice' | wc -l`)).stdout.trim());
  for (let i = 0; i < 100 && (await count()) < want; i++) await new Promise((r) => setTimeout(r, 200));
  // let diycloudd finish enforcing the new slices before the database changes
  await new Promise((r) => setTimeout(r, 3000));
}

export async function runReconcile(e: LoginEnv, liveUsers: { name: string; uid: number }[], dbUsers: number): Promise<ReconcileResult> {
  const { c } = e;
  await e.sql(`UPDATE resource_allocations SET cpu_limit = 0.75, mem_limit = '768M' WHERE user_id IN (SELECT id FROM users WHERE username LIKE 'bu%');`);

  const runs: ReconcileRun[] = [];
  for (const label of [`first (all ${liveUsers.length} changed)`, 'second (nothing changed)', 'third (nothing changed)']) {
    const r = await e.timed(`busctl --timeout=120 --json=short call ${MGR.join(' ')} Reconcile`, 180_000);
    if (r.code !== 0) throw new Error(`Reconcile failed: ${r.stderr}`);
    const rep = JSON.parse((JSON.parse(r.stdout) as { data: [string] }).data[0]) as { slices: number; managed: number; changed: unknown[]; errors: unknown[]; durationMs: number };
    runs.push({ label, wallMs: r.innerMs, durationMs: rep.durationMs, slices: rep.slices, managed: rep.managed, changed: rep.changed.length, errors: rep.errors.length });
  }
  const t = Date.now();
  await c.exec('systemctl restart diycloudd');
  let startupLine = '';
  for (let i = 0; i < 150 && !startupLine; i++) {
    const j = await e.journal(`-u diycloudd --since=@${Math.floor(t / 1000)} -g 'start-up reconcile' -o cat`);
    startupLine = j.trim().split('\n').filter(Boolean).pop() ?? '';
    if (!startupLine) await new Promise((r) => setTimeout(r, 200));
  }
  return { dbUsers, liveSlices: liveUsers.length, runs, restartMs: Date.now() - t, startupLine };
}

// Benchmark 1: a warm PAM session (pamtester open_session close_session) with and without the diycloud hook, interleaved.
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';

export interface LoginOverheadResult {
  iterations: number;
  warmup: number;
  user: string;
  base: Summary;
  hook: Summary;
  /** per-iteration paired difference hook - base (ms) */
  diff: Summary;
  addedMedianMs: number;
  baseFile: string;
  hookFile: string;
}

/**
 * Two PAM services that differ only by the diycloud lines: bench-base is the container's own
 * common-session (pam_unix + pam_systemd), bench-hook is common-session as pam-auth-update writes it
 * with the diycloud profile enabled. The user lingers, so its user manager is warm and each session
 * is only the PAM calls (logind session + slice already there). Order alternates each iteration.
 * Timing is taken inside the container with bash's $EPOCHREALTIME (no fork for the clock).
 * A 50 ms pause (not timed) before each login lets the previous login's background work (logind
 * removing the session, the daemon closing its record) finish: this measures what one login costs,
 * not what back-to-back logins cost each other; throughput under load is benchmark 2.
 */
export async function runLoginOverhead(e: LoginEnv, user: string, iterations: number, warmup = 10): Promise<LoginOverheadResult> {
  const { c } = e;
  const pre = 'auth\trequired\tpam_permit.so\naccount\trequired\tpam_permit.so\n';
  await c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --disable diycloud');
  const baseSession = (await c.exec('grep -v "^#" /etc/pam.d/common-session | grep .')).stdout;
  await c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --enable diycloud');
  const hookSession = (await c.exec('grep -v "^#" /etc/pam.d/common-session | grep .')).stdout;
  await c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --disable diycloud');
  if (!/pam-hook/.test(hookSession) || /pam-hook/.test(baseSession)) throw new Error(`unexpected common-session:\n${baseSession}\n---\n${hookSession}`);
  const baseFile = pre + baseSession;
  const hookFile = pre + hookSession;
  await c.writeFile('/etc/pam.d/bench-base', baseFile);
  await c.writeFile('/etc/pam.d/bench-hook', hookFile);

  await c.exec(`loginctl enable-linger ${user}`);
  await e.waitSlice(e.uids[user], (p) => p.ActiveState === 'active', 10_000);

  const script = `set -e
n=${iterations + warmup}
for i in $(seq 1 $n); do
  if [ $((i % 2)) -eq 0 ]; then order="base hook"; else order="hook base"; fi
  for v in $order; do
    sleep 0.05   # settle: the previous login's background work (logind's session removal, the daemon's close) ends first
    s=\${EPOCHREALTIME/./}
    pamtester bench-$v ${user} open_session close_session >/dev/null 2>/tmp/bench-pam.err || { cat /tmp/bench-pam.err >&2; exit 1; }
    t=\${EPOCHREALTIME/./}
    echo "$i $v $(( t - s ))"
  done
done`;
  const r = await c.exec(script, { timeoutMs: (iterations + warmup) * 2 * 2000 + 60_000 });
  const base: number[] = [], hook: number[] = [], diff: number[] = [];
  const byIter = new Map<number, Record<string, number>>();
  for (const line of r.stdout.trim().split('\n')) {
    const [i, v, us] = line.split(' ');
    if (Number(i) <= warmup) continue;
    const ms = Number(us) / 1000;
    (v === 'base' ? base : hook).push(ms);
    const rec = byIter.get(Number(i)) ?? {};
    rec[v] = ms;
    byIter.set(Number(i), rec);
  }
  for (const rec of byIter.values()) if (rec.base !== undefined && rec.hook !== undefined) diff.push(rec.hook - rec.base);
  const b = summarize(base), h = summarize(hook);
  return { iterations, warmup, user, base: b, hook: h, diff: summarize(diff), addedMedianMs: h.median - b.median, baseFile, hookFile };
}

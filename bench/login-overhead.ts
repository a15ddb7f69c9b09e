// Benchmark 1: a warm PAM session (pamtester open_session close_session) without the gate, with the shipped module
// (pam_diycloud.so) and with the pam_exec program (the previous design), interleaved; then 20 parallel login loops.
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { HOOK } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';

export type LoginVariant = 'base' | 'hook' | 'exec';

export interface LoopRound { variant: LoginVariant; seconds: number; logins: number; failures: number; perSec: number }

export interface LoginLoopsResult {
  loops: number;
  secondsPerRound: number;
  rounds: LoopRound[];
  /** logins/s of each gate variant over all its rounds, as a share of the baseline's over all its rounds */
  shareOfBase: Partial<Record<LoginVariant, number>>;
  /** the same per round (each gate round against the baseline round just before it) */
  roundShares: Partial<Record<LoginVariant, number[]>>;
}

export interface LoginOverheadResult {
  iterations: number;
  warmup: number;
  user: string;
  base: Summary;
  /** the shipped PAM lines: pam_diycloud.so */
  hook: Summary;
  /** per-iteration paired difference hook - base (ms) */
  diff: Summary;
  addedMedianMs: number;
  /** the pam_exec program's line in the same place (absent in results from before the module) */
  exec?: Summary;
  execDiff?: Summary;
  baseFile: string;
  hookFile: string;
  execFile?: string;
  loopsResult?: LoginLoopsResult;
}

const PRE = 'auth\trequired\tpam_permit.so\naccount\trequired\tpam_permit.so\n';

/**
 * Three PAM services that differ only by the diycloud line: bench-base is the container's own
 * common-session (pam_unix + pam_systemd), bench-hook is common-session as pam-auth-update writes it
 * with the diycloud profile enabled (the module), bench-exec the same with the module's line replaced
 * by the pam_exec program's (what the profile shipped before). The user lingers, so its user manager
 * is warm and each session is only the PAM calls (logind session + slice already there). Order rotates
 * each iteration. Timing is taken inside the container with bash's $EPOCHREALTIME (no fork for the clock).
 * A 50 ms pause (not timed) before each login lets the previous login's background work (logind
 * removing the session, the daemon closing its record) finish: this measures what one login costs,
 * not what back-to-back logins cost each other; runLoginLoops measures them under load.
 */
export async function runLoginOverhead(e: LoginEnv, user: string, iterations: number, warmup = 10): Promise<LoginOverheadResult> {
  const { c } = e;
  const { baseFile, hookFile, execFile } = await writeStacks(e);
  await c.exec(`loginctl enable-linger ${user}`);
  await e.waitSlice(e.uids[user], (p) => p.ActiveState === 'active', 10_000);

  const script = `set -e
n=${iterations + warmup}
for i in $(seq 1 $n); do
  case $((i % 3)) in 0) order="base hook exec";; 1) order="hook exec base";; *) order="exec base hook";; esac
  for v in $order; do
    sleep 0.05   # settle: the previous login's background work (logind's session removal, the daemon's close) ends first
    s=\${EPOCHREALTIME/./}
    pamtester bench-$v ${user} open_session close_session >/dev/null 2>/tmp/bench-pam.err || { cat /tmp/bench-pam.err >&2; exit 1; }
    t=\${EPOCHREALTIME/./}
    echo "$i $v $(( t - s ))"
  done
done`;
  const r = await c.exec(script, { timeoutMs: (iterations + warmup) * 3 * 2000 + 60_000 });
  const byIter = new Map<number, Partial<Record<LoginVariant, number>>>();
  for (const line of r.stdout.trim().split('\n')) {
    const [i, v, us] = line.split(' ');
    if (Number(i) <= warmup) continue;
    const rec = byIter.get(Number(i)) ?? {};
    rec[v as LoginVariant] = Number(us) / 1000;
    byIter.set(Number(i), rec);
  }
  const recs = [...byIter.values()].filter((x) => x.base !== undefined && x.hook !== undefined && x.exec !== undefined);
  const col = (v: LoginVariant) => recs.map((x) => x[v]!);
  const b = summarize(col('base')), h = summarize(col('hook')), x = summarize(col('exec'));
  return {
    iterations, warmup, user, base: b, hook: h, exec: x,
    diff: summarize(recs.map((y) => y.hook! - y.base!)), execDiff: summarize(recs.map((y) => y.exec! - y.base!)),
    addedMedianMs: h.median - b.median, baseFile, hookFile, execFile,
  };
}

/** Writes /etc/pam.d/bench-{base,hook,exec} from what pam-auth-update writes with the profile off and on. */
async function writeStacks(e: LoginEnv): Promise<{ baseFile: string; hookFile: string; execFile: string }> {
  const { c } = e;
  const session = async () => (await c.exec('grep -v "^#" /etc/pam.d/common-session | grep .')).stdout;
  await c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --disable diycloud');
  const base = await session();
  await c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --enable diycloud');
  const hook = await session();
  await c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --disable diycloud');
  const moduleLine = /^session\s+required\s+pam_diycloud\.so\s*$/m;
  if (!moduleLine.test(hook) || /diycloud/.test(base)) throw new Error(`unexpected common-session:\n${base}\n---\n${hook}`);
  const exec = hook.replace(moduleLine, `session\trequired\tpam_exec.so quiet stdout seteuid type=open_session ${HOOK}`);
  const [baseFile, hookFile, execFile] = [PRE + base, PRE + hook, PRE + exec];
  await c.writeFile('/etc/pam.d/bench-base', baseFile);
  await c.writeFile('/etc/pam.d/bench-hook', hookFile);
  await c.writeFile('/etc/pam.d/bench-exec', execFile);
  return { baseFile, hookFile, execFile };
}

/**
 * `loops` shells, each running `pamtester bench-V USER open_session close_session` back to back for
 * `seconds`, all at once; logins/s is the sum of completed logins over the round's length. Rounds go
 * base, hook, exec, base, hook, exec, … so each gate round has a baseline round right before it.
 */
export async function runLoginLoops(e: LoginEnv, user: string, loops: number, seconds: number, rounds: number): Promise<LoginLoopsResult> {
  const order: LoginVariant[] = [];
  for (let i = 0; i < rounds; i++) order.push('base', 'hook', 'exec');
  const out: LoopRound[] = [];
  for (const variant of order) {
    const script = `end=$(( \${EPOCHREALTIME/./} + ${seconds} * 1000000 ))
for j in $(seq 1 ${loops}); do
  ( ok=0; bad=0
    while [ \${EPOCHREALTIME/./} -lt $end ]; do
      if pamtester bench-${variant} ${user} open_session close_session >/dev/null 2>&1; then ok=$((ok+1)); else bad=$((bad+1)); fi
    done
    echo "@@ $ok $bad" ) &
done
s=\${EPOCHREALTIME/./}; wait; t=\${EPOCHREALTIME/./}; echo "@@t $(( t - s ))"
sleep 1`; // settle before the next round
    const r = await e.c.exec(script, { timeoutMs: seconds * 1000 + 120_000 });
    let logins = 0, failures = 0, us = seconds * 1e6;
    for (const line of r.stdout.split('\n')) {
      const m = /^@@ (\d+) (\d+)$/.exec(line);
      if (m) { logins += Number(m[1]); failures += Number(m[2]); }
      const t = /^@@t (\d+)$/.exec(line);
      if (t) us = Number(t[1]);
    }
    out.push({ variant, seconds: us / 1e6, logins, failures, perSec: logins / (us / 1e6) });
  }
  const rate = (v: LoginVariant) => {
    const rs = out.filter((x) => x.variant === v);
    return rs.reduce((a, x) => a + x.logins, 0) / rs.reduce((a, x) => a + x.seconds, 0);
  };
  const roundShares: LoginLoopsResult['roundShares'] = { hook: [], exec: [] };
  for (let i = 0; i < out.length; i++) {
    if (out[i].variant === 'base') continue;
    const base = out.slice(0, i).reverse().find((x) => x.variant === 'base');
    if (base) roundShares[out[i].variant]!.push(out[i].perSec / base.perSec);
  }
  return { loops, secondsPerRound: seconds, rounds: out, shareOfBase: { hook: rate('hook') / rate('base'), exec: rate('exec') / rate('base') }, roundShares };
}

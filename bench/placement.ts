// Benchmark: a login whose process OpenSession must move into user-UID.slice (su, sudo, cron) against one already there (ssh after pam_systemd).
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { f, summarize, type Summary } from './lib/stats';

export interface PlacementResult {
  iterations: number;
  user: string;
  /** pamtester of the non-interactive stack without the hook, from system.slice (cron's and sudo's place) */
  baseOutside: Summary;
  /** the same from a scope in user-UID.slice */
  baseInSlice: Summary;
  /** with the hook, from a scope in user-UID.slice: /proc reads only, nothing moved */
  hookInSlice: Summary;
  /** with the hook, from system.slice: StartTransientUnit, JobRemoved, GetUnitByPID, then the limits */
  hookMoved: Summary;
  /** per-iteration paired differences, hook minus base of the same loop */
  addedInSlice: Summary;
  addedMoved: Summary;
  /** /proc/self/cgroup of `sudo -u USER cat` from each place, as checked after the timing */
  cgroupMoved: string;
  cgroupInSlice: string;
  /** moves the daemon logged during the run, and diycloud scopes still loaded at the end */
  movesLogged: number;
  scopesLeft: number;
}

/**
 * Two PAM services that differ only by the diycloud line, both built from the container's
 * common-session-noninteractive (no pam_systemd: the stack of cron and sudo). Each is run with
 * pamtester open_session close_session from a root shell in system.slice, whose children the hook
 * moves, and from a root shell in a scope in user-UID.slice, whose children it leaves alone. The
 * shells alternate in blocks of 10 iterations; inside a shell, base and hook alternate. 50 ms
 * pauses (not timed) let the previous login's background work finish.
 */
export async function runPlacement(e: LoginEnv, user: string, iterations: number, warmup = 5): Promise<PlacementResult> {
  const { c } = e;
  const uid = e.uids[user];
  const pre = 'auth\trequired\tpam_permit.so\naccount\trequired\tpam_permit.so\n';
  const wasEnabled = /pam_diycloud/.test((await c.exec('cat /etc/pam.d/common-session-noninteractive')).stdout);
  const stack = async (on: boolean) => {
    await c.exec(`DEBIAN_FRONTEND=noninteractive pam-auth-update --${on ? 'enable' : 'disable'} diycloud`);
    return (await c.exec('grep -v "^#" /etc/pam.d/common-session-noninteractive | grep .')).stdout;
  };
  const base = await stack(false);
  const hook = await stack(true); // stays enabled: sudo below needs it
  if (!/pam_diycloud/.test(hook) || /pam_diycloud/.test(base) || /pam_systemd/.test(hook)) throw new Error(`unexpected common-session-noninteractive:\n${base}\n---\n${hook}`);
  await c.writeFile('/etc/pam.d/bench-ni-base', pre + base);
  await c.writeFile('/etc/pam.d/bench-ni-hook', pre + hook);
  const moves = async () => Number((await c.exec(`journalctl -q --no-pager -u diycloudd | grep -c 'moved login process' || true`)).stdout.trim());
  const movesBefore = await moves();

  const loop = (from: number, n: number, where: string) => `for i in $(seq ${from} ${from + n - 1}); do
  if [ $((i % 2)) -eq 0 ]; then order="base hook"; else order="hook base"; fi
  for v in $order; do
    sleep 0.05
    s=\${EPOCHREALTIME/./}
    pamtester bench-ni-$v ${user} open_session close_session >/dev/null 2>/tmp/bench-place.err || { cat /tmp/bench-place.err >&2; exit 1; }
    t=\${EPOCHREALTIME/./}
    echo "${where} $i $v $(( t - s ))"
  done
done`;
  // The script goes in a file: systemd-run would expand "$VAR" in its command line itself.
  const inShell = async (where: 'out' | 'in', script: string) => {
    await c.writeFile('/tmp/bench-place.sh', script);
    return c.exec(`systemd-run --pipe --wait --quiet --collect --slice=${where === 'out' ? 'system.slice' : `user-${uid}.slice`} -- /bin/bash /tmp/bench-place.sh`, { timeoutMs: 600_000 });
  };
  const samples: Record<string, number[]> = { 'out base': [], 'out hook': [], 'in base': [], 'in hook': [] };
  const paired: Record<string, Map<number, Record<string, number>>> = { out: new Map(), in: new Map() };
  const total = iterations + warmup;
  for (let from = 1; from <= total; from += 10) {
    const n = Math.min(10, total - from + 1);
    for (const where of (from / 10) % 2 < 1 ? (['out', 'in'] as const) : (['in', 'out'] as const)) {
      for (const line of (await inShell(where, loop(from, n, where))).stdout.trim().split('\n')) {
        const [w, i, v, us] = line.split(' ');
        if (Number(i) <= warmup) continue;
        samples[`${w} ${v}`].push(Number(us) / 1000);
        const rec = paired[w].get(Number(i)) ?? {};
        rec[v] = Number(us) / 1000;
        paired[w].set(Number(i), rec);
      }
    }
  }
  const diffs = (w: string) => summarize([...paired[w].values()].filter((r) => r.base !== undefined && r.hook !== undefined).map((r) => r.hook - r.base));

  // What a real PAM application gets: sudo (common-session-noninteractive) from each place.
  const sudoCgroup = async (where: 'out' | 'in') =>
    (await inShell(where, `sudo -u ${user} cat /proc/self/cgroup > /tmp/bench-place.cg; grep '^0::' /tmp/bench-place.cg || grep name=systemd /tmp/bench-place.cg`)).stdout.trim();
  const cgroupMoved = await sudoCgroup('out');
  const cgroupInSlice = await sudoCgroup('in');
  const movesLogged = (await moves()) - movesBefore;
  await new Promise((r) => setTimeout(r, 500));
  const scopesLeft = Number((await c.exec(`systemctl list-units --all --no-legend 'diycloud-*.scope' | wc -l`)).stdout.trim());
  if (!wasEnabled) await stack(false);
  await c.exec('rm -f /etc/pam.d/bench-ni-base /etc/pam.d/bench-ni-hook /tmp/bench-place.err /tmp/bench-place.sh /tmp/bench-place.cg');
  return {
    iterations, user,
    baseOutside: summarize(samples['out base']), baseInSlice: summarize(samples['in base']),
    hookInSlice: summarize(samples['in hook']), hookMoved: summarize(samples['out hook']),
    addedInSlice: diffs('in'), addedMoved: diffs('out'),
    cgroupMoved, cgroupInSlice, movesLogged, scopesLeft,
  };
}

/** The report section (markdown lines), for bench/lib/report.ts. */
export function renderPlacement(r: PlacementResult): string[] {
  const row = (name: string, s: Summary) => `| ${name} | ${s.n} | ${f(s.median)} | ${f(s.p95)} | ${f(s.p99)} | ${f(s.min)} | ${f(s.max)} |`;
  return [
    '## Moving a login process into its slice',
    '',
    `pamtester open_session close_session of \`${r.user}\` through common-session-noninteractive (cron's and sudo's stack, no pam_systemd), with and without the diycloud line, from a root shell in system.slice (the hook's parent is moved into a new scope in user-UID.slice) and from a root shell already in user-UID.slice (the parent is left alone: the ssh case after pam_systemd). Interleaved; ms.`,
    '',
    '| Case | n | median | p95 | p99 | min | max |',
    '|---|---|---|---|---|---|---|',
    row('no hook, from system.slice', r.baseOutside),
    row('no hook, from user-UID.slice', r.baseInSlice),
    row('hook, parent already in user-UID.slice (not moved)', r.hookInSlice),
    row('hook, parent in system.slice (moved)', r.hookMoved),
    row('added by the hook, not moved (paired)', r.addedInSlice),
    row('added by the hook, moved (paired)', r.addedMoved),
    '',
    `The move itself costs about ${f(r.addedMoved.median - r.addedInSlice.median)} ms at the median (the difference of the two paired rows). ` +
      `Checked afterwards with sudo -u ${r.user} cat /proc/self/cgroup: from system.slice \`${r.cgroupMoved}\`, from the user's slice \`${r.cgroupInSlice}\`. ` +
      `The daemon logged ${r.movesLogged} moves; ${r.scopesLeft} diycloud scopes were still loaded at the end (each goes when its process exits).`,
    '',
  ];
}

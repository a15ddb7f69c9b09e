// Benchmark 7: root's PAM hook (account, open_session) timed without a flood and while an unprivileged, unmanaged local user floods diycloudd.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { CONF, HOOK } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';
import { cpuTimes } from './throughput';

/** What the flood driver printed (bench/drivers/flood-driver.cjs), plus its call rate. */
export interface AttackerStats {
  calls: number; seconds: number; callsPerSec: number; ok: number; byError: Record<string, number>;
  pendingAtEnd: number; disconnects: number; firstErrorTexts: string[];
}
export interface FloodSpec { method: 'ListProfiles' | 'GetUser'; randomUser: boolean }
export interface HookPhase {
  label: string;
  /** the flood that ran meanwhile; absent for a baseline */
  flood?: FloodSpec;
  /** hook wall times (ms), measured inside the container */
  account: Summary; open: Summary;
  /** hook runs that exited non-zero (a refused login) */
  refused: number;
  /** diycloud-pam-hook journal lines "… (failure mode open|closed) …" written during the window */
  failureModeLines: number; firstFailureLines: string[];
  /** the hook's circuit-breaker marker (a call timed out) was there when the window ended */
  markerAtEnd: boolean;
  /** most child processes of diycloudd seen at once (sampled every 200 ms during the window) */
  maxChildren: number;
  /** the flood ended (its --seconds bound) before the timing loop did: fewer samples than asked */
  cutShort: boolean;
  /** before the phase: seconds waited for diycloudd to have no child program left, and how many were left when the wait ended */
  quietWaitSec: number; childrenAtStart: number;
  windowSec: number;
  attacker?: AttackerStats;
  cpuSec: Record<string, number>;
}
export interface FloodResult {
  user: string; attackerUser: string; iterations: number; gapMs: number; settleMs: number; maxSeconds: number;
  connections: number; inflight: number; failureMode: string; timeoutSec: string;
  phases: HookPhase[];
}
export interface FloodOptions { iterations: number; gapMs: number; settleMs: number; maxSeconds: number; connections: number; inflight: number }

const DRIVER = '/opt/diycloud-bench/flood-driver.cjs';
const MODULES = '/usr/lib/diycloud/node_modules';
const BUS = 'unix:path=/run/dbus/system_bus_socket';
const ATTACKER = 'flooder';
const MARKER = '/run/diycloud/hook-unresponsive';
/** how long a phase waits, before it starts, for diycloudd to have no child program left (the previous flood's work) */
const QUIET_WAIT_SEC = 30;

/**
 * Phases, in this order, in one run: baseline; ListProfiles flood (each call refused by polkit); GetUser flood with a fresh
 * random name per call (each call a child program, getent); baseline again (did the daemon recover?).
 * The attacker is a local user with no database row and no login session, started with setpriv (no PAM, so its own start
 * runs no hook). Timing starts settleMs after the flood is up; the flood is stopped (SIGTERM) when the timing loop ends,
 * and ends by itself after maxSeconds, which also ends the loop: under a flood that makes each hook call time out, a phase
 * lasts at most maxSeconds and has fewer samples (cutShort).
 */
export async function runFlood(e: LoginEnv, user: string, o: FloodOptions): Promise<FloodResult> {
  const { c } = e;
  await c.writeFile(DRIVER, readFileSync(join(__dirname, 'drivers', 'flood-driver.cjs'), 'utf8'));
  await c.exec(`id -u ${ATTACKER} >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin ${ATTACKER}`);
  const hasRow = Number(await e.sql(`SELECT count(*) FROM users WHERE username = '${ATTACKER}';`));
  if (hasRow !== 0) throw new Error(`${ATTACKER} must not be a managed user`);
  // the user's slice is live, as at a real login (pam_systemd runs before the hook)
  await c.exec(`loginctl enable-linger ${user}`);
  await e.waitSlice(e.uids[user], (p) => p.ActiveState === 'active', 10_000);
  const conf = async (k: string, d: string): Promise<string> =>
    (await c.exec(`sed -n 's/^[[:space:]]*${k}[[:space:]]*=[[:space:]]*//p' ${CONF} | tail -n1`)).stdout.trim() || d;
  const failureMode = await conf('FailureMode', 'open');
  const timeoutSec = await conf('TimeoutSec', '2');

  const phases: HookPhase[] = [];
  const plan: { label: string; flood?: FloodSpec }[] = [
    { label: 'baseline (no flood)' },
    { label: 'ListProfiles flood (calls polkit refuses)', flood: { method: 'ListProfiles', randomUser: false } },
    { label: 'GetUser flood, random names (getent per call)', flood: { method: 'GetUser', randomUser: true } },
    { label: 'baseline again (after the floods)' },
  ];
  for (const p of plan) phases.push(await runPhase(e, user, o, p.label, p.flood));
  return { user, attackerUser: ATTACKER, ...o, failureMode, timeoutSec, phases };
}

function phaseScript(user: string, o: FloodOptions, flood?: FloodSpec): string {
  const hook = (type: string, extra: string): string => `env -i PAM_TYPE=${type} PAM_USER=${user} PAM_SERVICE=su ${extra}${HOOK} >/dev/null 2>&1`;
  const timed = (tag: string, cmd: string): string => `s=\${EPOCHREALTIME/./}; ${cmd}; rc=$?; t=\${EPOCHREALTIME/./}; echo "${tag} $(( t - s )) $rc"`;
  const driverArgs = [`--address ${BUS}`, `--connections ${o.connections}`, `--inflight ${o.inflight}`, `--method ${flood?.method}`,
    ...(flood?.randomUser ? ['--arg-random-user'] : []), `--seconds ${o.maxSeconds}`, `--modules ${MODULES}`, '--ready-file $d/ready'].join(' ');
  return `set -u
d=$(mktemp -d /tmp/bench-flood.XXXXXX); chown ${ATTACKER} $d
mp=$(systemctl show -p MainPID --value diycloudd.service)
# start from a quiet daemon (no child programs left from the previous phase, at most ${QUIET_WAIT_SEC} s) and a closed circuit breaker
q0=$EPOCHREALTIME
for i in $(seq 1 ${QUIET_WAIT_SEC * 10}); do [ "$(pgrep -c -P $mp)" = 0 ] && break; sleep 0.1; done
echo "@@quiet $q0 $EPOCHREALTIME $(pgrep -c -P $mp)"
rm -f ${MARKER}
fpid=
${flood ? `( cd / && exec env -i PATH=/usr/bin:/bin HOME=/ setpriv --reuid=${ATTACKER} --regid=$(id -g ${ATTACKER}) --init-groups node ${DRIVER} ${driverArgs} >$d/out 2>$d/err ) &
fpid=$!
for i in $(seq 1 300); do [ -e $d/ready ] && break; kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
if [ ! -e $d/ready ]; then echo "flood driver did not start:" >&2; cat $d/err >&2; kill $fpid 2>/dev/null; rm -rf $d; exit 1; fi
sleep ${o.settleMs / 1000}` : ''}
( max=0; while [ ! -e $d/stop ]; do n=$(pgrep -c -P $mp); [ "$n" -gt "$max" ] && max=$n; sleep 0.2; done; echo $max >$d/children ) &
spid=$!
cut=0
t0=$EPOCHREALTIME
for i in $(seq 1 ${o.iterations}); do
  if [ -n "$fpid" ] && ! kill -0 $fpid 2>/dev/null; then cut=1; break; fi
  ${timed('a', hook('account', ''))}
  ${timed('o', hook('open_session', 'PAM_TTY=pts/9 '))}
  sleep ${o.gapMs / 1000}
done
t1=$EPOCHREALTIME
echo "@@cut $cut"
echo "@@window $t0 $t1"
if [ -e ${MARKER} ]; then echo "@@marker 1"; else echo "@@marker 0"; fi
touch $d/stop; wait $spid; echo "@@children $(cat $d/children)"
if [ -n "$fpid" ]; then kill -TERM $fpid 2>/dev/null; wait $fpid; echo "@@flood $(tail -n1 $d/out)"; head -n5 $d/err | sed 's/^/@@ferr /'; fi
sleep 0.5   # the hook's last syslog lines reach the journal
journalctl --no-pager -q -t diycloud-pam-hook --since @$t0 -o cat | grep -F 'failure mode' | sed 's/^/@@fm /'
rm -rf $d
exit 0`;
}

async function runPhase(e: LoginEnv, user: string, o: FloodOptions, label: string, flood?: FloodSpec): Promise<HookPhase> {
  const before = await cpuTimes(e);
  const r = await e.c.exec(phaseScript(user, o, flood), { timeoutMs: (o.maxSeconds + QUIET_WAIT_SEC + 60) * 1000 + o.iterations * 5000 });
  const after = await cpuTimes(e);
  const cpuSec = Object.fromEntries(Object.keys(after).map((k) => [k, Math.round((after[k] - (before[k] ?? 0)) * 100) / 100]));
  const acc: number[] = [], open: number[] = [], fm: string[] = [], ferr: string[] = [];
  let refused = 0, cut = false, marker = false, children = 0, windowSec = 0, quietWaitSec = 0, childrenAtStart = 0, raw: string | undefined;
  for (const line of r.stdout.split('\n')) {
    const m = /^([ao]) (\d+) (\d+)$/.exec(line);
    if (m) {
      (m[1] === 'a' ? acc : open).push(Number(m[2]) / 1000);
      if (m[3] !== '0') refused++;
      continue;
    }
    const [tag, ...rest] = line.split(' ');
    const v = rest.join(' ');
    if (tag === '@@cut') cut = v === '1';
    else if (tag === '@@window') windowSec = Number(rest[1]) - Number(rest[0]);
    else if (tag === '@@marker') marker = v === '1';
    else if (tag === '@@quiet') { quietWaitSec = Number(rest[1]) - Number(rest[0]); childrenAtStart = Number(rest[2]); }
    else if (tag === '@@children') children = Number(v);
    else if (tag === '@@flood') raw = v;
    else if (tag === '@@ferr') ferr.push(v);
    else if (tag === '@@fm') fm.push(v);
  }
  let attacker: AttackerStats | undefined;
  if (flood) {
    if (!raw) throw new Error(`flood driver printed nothing (${label}): ${ferr.join(' | ')}`);
    const d = JSON.parse(raw) as { calls: number; seconds: number; replies: { ok: number; byError: Record<string, number> }; pendingAtEnd: number; disconnects: number; firstErrorTexts: string[] };
    attacker = { calls: d.calls, seconds: d.seconds, callsPerSec: d.seconds > 0 ? d.calls / d.seconds : 0, ok: d.replies.ok, byError: d.replies.byError,
      pendingAtEnd: d.pendingAtEnd, disconnects: d.disconnects, firstErrorTexts: [...d.firstErrorTexts, ...ferr].slice(0, 5) };
  }
  return { label, flood, account: summarize(acc), open: summarize(open), refused, failureModeLines: fm.length, firstFailureLines: [...new Set(fm)].slice(0, 3),
    markerAtEnd: marker, maxChildren: children, cutShort: cut, quietWaitSec: Math.round(quietWaitSec * 100) / 100, childrenAtStart, windowSec: Math.round(windowSec * 100) / 100, attacker, cpuSec };
}

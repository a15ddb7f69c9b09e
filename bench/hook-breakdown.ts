// Where the hook's time goes: each piece of one open_session hook call, timed alone inside the container.
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { HOOK } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';

export interface BreakdownResult { iterations: number; parts: { name: string; cmd: string; s: Summary }[] }

const DS = '/usr/bin/dbus-send --system --print-reply --type=method_call --dest=org.diycloud.Manager1 /org/diycloud/Manager1';

/** Each command runs `iterations` times, interleaved with the others, timed with $EPOCHREALTIME. */
export async function runHookBreakdown(e: LoginEnv, user: string, iterations: number): Promise<BreakdownResult> {
  const parts = [
    { name: 'fork+exec of /bin/true (process floor)', cmd: '/bin/true' },
    { name: 'the hook with PAM_TYPE=auth (start-up and config read, exits early)', cmd: `env -i PAM_TYPE=auth PAM_USER=${user} ${HOOK}` },
    { name: 'id -u USER (a process doing the NSS lookup the hook does in-process)', cmd: `/usr/bin/id -u ${user}` },
    { name: 'dbus-send Properties.Get Version (bus round trip + process)', cmd: `${DS} org.freedesktop.DBus.Properties.Get string:org.diycloud.Manager1 string:Version` },
    { name: 'dbus-send CheckLogin', cmd: `${DS} org.diycloud.Manager1.CheckLogin string:${user} string:bench string:` },
    { name: 'dbus-send OpenSession (daemon work: one GetAll of the slice, SQLite commit)', cmd: `${DS} org.diycloud.Manager1.OpenSession string:${user} string:bench string:pts/9 string:` },
    { name: 'dbus-send CloseSession', cmd: `${DS} org.diycloud.Manager1.CloseSession string:${user} string:bench string:pts/9 string:` },
    { name: 'whole hook, PAM_TYPE=open_session', cmd: `env -i PAM_TYPE=open_session PAM_USER=${user} PAM_SERVICE=bench PAM_TTY=pts/9 ${HOOK}` },
    { name: 'whole hook, PAM_TYPE=close_session (call backgrounded)', cmd: `env -i PAM_TYPE=close_session PAM_USER=${user} PAM_SERVICE=bench PAM_TTY=pts/9 ${HOOK}` },
  ];
  const body = parts.map((p, i) => `s=\${EPOCHREALTIME/./}; ${p.cmd} >/dev/null 2>&1; t=\${EPOCHREALTIME/./}; echo "${i} $(( t - s ))"`).join('\n  ');
  const r = await e.c.exec(`for it in $(seq 1 ${iterations + 5}); do\n  ${body}\n  if [ $it -le 5 ]; then echo warm; fi\ndone`, { timeoutMs: 600_000 });
  const samples: number[][] = parts.map(() => []);
  const lines = r.stdout.trim().split('\n');
  // drop the first 5 iterations (each ends with a "warm" marker)
  let warm = 0;
  for (const l of lines) {
    if (l === 'warm') { warm++; continue; }
    if (warm < 5) continue;
    const [i, us] = l.split(' ');
    samples[Number(i)].push(Number(us) / 1000);
  }
  return { iterations, parts: parts.map((p, i) => ({ ...p, s: summarize(samples[i]) })) };
}

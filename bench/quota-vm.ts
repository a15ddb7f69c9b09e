// Benchmark 11, in the qemu VM (real kernel, ext4 with usrquota on /): Reconcile applying 1,000 users' quotas through setquota -b,
// against Reconcile with every quota matching (same run) and against 1,000 single setquota calls (the per-user path it replaced).
import { parseSetquotaBatchErrors, SETQUOTA_BATCH_LINES } from '../src/adapters/quota/quota-tools';
import { MGR } from '../test/e2e/lib/login-env';
import { bootVm, type Vm } from '../test/e2e/lib/vm';
import { ENABLE_DIYCLOUD, installIntoRootfs } from '../test/e2e/lib/vm-install';
import { f, summarize } from './lib/stats';

export interface QuotaVmOptions { users: number; firstUid: number; rounds: number }
export interface QuotaVmRun { label: string; wallMs: number; durationMs: number; quotas: number; errors: number; firstError: string | null; limitsSeen: number }
export interface QuotaVmResult {
  opts: QuotaVmOptions;
  guest: { kernel: string; quotaTools: string; cpus: number; memoryMiB: number; node: string; quotaOn: string };
  setupSec: Record<string, number>;
  runs: QuotaVmRun[];
  /** `users` single `setquota -u -- UID …` calls in a shell loop in the guest (the per-user path's tool cost alone), before and after the runs. */
  single: { label: string; totalMs: number; limitsSeen: number }[];
  /** `setquota -u -b -c` from a shell in the guest, without the daemon: the tool's own cost, in 500-line runs one after the other or at once, or one run. */
  tool: { label: string; totalMs: number; limitsSeen: number }[];
  /** A hand-made `setquota -u -b -c` run with bad lines: what quota-tools 4.06 prints and which entries diycloud's parser marks failed. */
  stderrCheck: { exit: number; stderr: string; failedUids: number[]; uids: number[] };
  load: { before: string; after: string };
}

const SOFT_SHARE = 0.9; // [Quota] SoftLimitPercent=90, the default the VM's config keeps

/** Block limits (KiB) per uid from repquota's CSV. */
async function kernelLimits(vm: Vm): Promise<Map<number, { soft: number; hard: number }>> {
  const lines = (await vm.exec('repquota -u -v -n -p -O csv -- /', { timeoutMs: 120_000 })).stdout.trim().split('\n');
  const head = lines[0].split(',');
  const [s, h] = [head.indexOf('BlockSoftLimit'), head.indexOf('BlockHardLimit')];
  const out = new Map<number, { soft: number; hard: number }>();
  for (const l of lines.slice(1)) {
    const c = l.split(',');
    const id = /^#([0-9]+)$/.exec(c[0]);
    if (id) out.set(Number(id[1]), { soft: Number(c[s]), hard: Number(c[h]) });
  }
  return out;
}

export async function runQuotaVm(o: QuotaVmOptions): Promise<QuotaVmResult> {
  const setupSec: Record<string, number> = {};
  const t0 = Date.now();
  const vm = await bootVm({ prepare: installIntoRootfs, chrootCommands: ENABLE_DIYCLOUD });
  setupSec.boot = (Date.now() - t0) / 1000;
  try {
    let t = Date.now();
    await vm.exec('for i in $(seq 120); do systemctl is-active -q diycloudd && exit 0; sleep 1; done; journalctl --no-pager -u diycloudd | tail -40; exit 1', { timeoutMs: 150_000 });
    await vm.exec('for i in $(seq 60); do s=$(systemctl show -p ActiveState --value quotaon.service); [ "$s" = active ] || [ "$s" = failed ] || [ "$s" = inactive ] && break; sleep 1; done', { timeoutMs: 90_000 });
    if (!/is on/.test((await vm.exec('quotaon -p -u /', { allowFail: true })).stdout)) {
      await vm.exec('test -e /aquota.user || quotacheck -cugm /; quotaon -u /', { timeoutMs: 120_000 });
    }
    // diycloudd probes quotas afresh (its probe is cached 30 s): restart it so it sees them on for sure
    await vm.exec('systemctl restart diycloudd && for i in $(seq 60); do systemctl is-active -q diycloudd && exit 0; sleep 1; done; exit 1', { timeoutMs: 90_000 });
    setupSec.quotas = (Date.now() - t) / 1000;
    const guest = {
      kernel: (await vm.exec('uname -r')).stdout.trim(),
      quotaTools: (await vm.exec("dpkg-query -W -f '${Version}' quota")).stdout.trim(),
      node: (await vm.exec('node --version')).stdout.trim(),
      quotaOn: (await vm.exec('quotaon -p -u /', { allowFail: true })).stdout.trim(),
      cpus: 2,
      memoryMiB: 3072,
    };
    const last = o.firstUid + o.users - 1;
    const inRange = (uid: number) => uid >= o.firstUid && uid <= last;
    const seen = async (mib: number) => {
      const want = { soft: Math.floor(mib * 1024 * SOFT_SHARE), hard: mib * 1024 };
      return [...(await kernelLimits(vm))].filter(([uid, l]) => inRange(uid) && l.soft === want.soft && l.hard === want.hard).length;
    };

    // Database-only users (no NSS account: Reconcile sets a quota-tools quota by UID, no lookup), each with a disk allocation.
    t = Date.now();
    await vm.exec(`sqlite3 /var/lib/diycloud/diycloud.db <<'EOF'
.timeout 10000
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${o.users - 1})
  INSERT INTO users (username, uid, is_active) SELECT printf('bq%d', ${o.firstUid} + i), ${o.firstUid} + i, 1 FROM n;
INSERT INTO resource_allocations (user_id, disk_quota) SELECT id, '32M' FROM users WHERE username LIKE 'bq%';
COMMIT;
EOF`, { timeoutMs: 120_000 });
    setupSec.users = (Date.now() - t) / 1000;
    const loadBefore = (await vm.exec('cat /proc/loadavg')).stdout.trim();

    const single: QuotaVmResult['single'] = [];
    const singles = async (label: string, mib: number) => {
      const r = await vm.exec(`t0=$(date +%s%N); for u in $(seq ${o.firstUid} ${last}); do setquota -u -- $u ${Math.floor(mib * 1024 * SOFT_SHARE)} ${mib * 1024} 0 0 / || exit 1; done; echo $(( ($(date +%s%N) - t0) / 1000000 ))`, { timeoutMs: 600_000 });
      single.push({ label, totalMs: Number(r.stdout.trim()), limitsSeen: await seen(mib) });
    };
    await singles('before the Reconcile runs', 40);

    const runs: QuotaVmRun[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const mib = 64 + 16 * r;
      await vm.exec(`sqlite3 /var/lib/diycloud/diycloud.db ".timeout 10000" "UPDATE resource_allocations SET disk_quota = '${mib}M' WHERE user_id IN (SELECT id FROM users WHERE uid BETWEEN ${o.firstUid} AND ${last});"`);
      for (const label of [`every quota differs (${mib}M wanted)`, 'every quota already matches']) {
        await new Promise((res) => setTimeout(res, 2100)); // past the 2 s usage cache: each run reads repquota afresh
        const x = await vm.exec(`t0=$(date +%s%N); out=$(busctl --timeout=600 --json=short call ${MGR.join(' ')} Reconcile) || exit 1; echo "WALL $(( ($(date +%s%N) - t0) / 1000000 ))"; echo "$out"`, { timeoutMs: 620_000 });
        const [wall, json] = x.stdout.trim().split('\n');
        const rep = JSON.parse((JSON.parse(json) as { data: [string] }).data[0]) as { quotas: unknown[]; errors: { error: string }[]; durationMs: number };
        runs.push({ label, wallMs: Number(wall.split(' ')[1]), durationMs: rep.durationMs, quotas: rep.quotas.length, errors: rep.errors.length, firstError: rep.errors[0]?.error ?? null, limitsSeen: await seen(mib) });
      }
    }
    await singles('after the Reconcile runs', 48);

    const tool: QuotaVmResult['tool'] = [];
    const lines = (mib: number) => `seq ${o.firstUid} ${last} | awk '{print $1, ${Math.floor(mib * 1024 * SOFT_SHARE)}, ${mib * 1024}, 0, 0}' > /tmp/bq.lines && rm -f /tmp/bq.part.* && split -l 500 /tmp/bq.lines /tmp/bq.part.`;
    const ms = 'echo $(( ($(date +%s%N) - t0) / 1000000 ))';
    for (const [i, [label, cmd]] of ([
      ['runs of 500 lines one after the other', 'for p in /tmp/bq.part.*; do setquota -u -b -c -- / < $p || exit 1; done'],
      ['runs of 500 lines, all at once', 'for p in /tmp/bq.part.*; do setquota -u -b -c -- / < $p & done; wait'],
      [`one run of ${o.users} lines`, 'setquota -u -b -c -- / < /tmp/bq.lines || exit 1'],
    ] as const).entries()) {
      for (const round of [0, 1]) {
        const mib = 112 + 16 * (2 * i + round);
        await vm.exec(lines(mib));
        const r = await vm.exec(`t0=$(date +%s%N); ${cmd}; ${ms}`, { timeoutMs: 300_000 });
        tool.push({ label, totalMs: Number(r.stdout.trim().split('\n').pop()), limitsSeen: await seen(mib) });
      }
    }

    // What setquota -b prints for lines it refuses, read by diycloud's parser (UIDs above the managed range; reset afterwards).
    const uids = [65500, 65501, 65502, 65503];
    const check = await vm.exec(`printf '65500 100 200 0 0\\n65501 x 200 0 0\\n65502 4398046511104 4398046511104 0 0\\n65503 1152921504606846976 1152921504606846976 0 0\\n' | setquota -u -b -c -- / 2>&1; echo "EXIT $?"; printf '65500 0 0 0 0\\n65502 0 0 0 0\\n65503 0 0 0 0\\n' | setquota -u -b -c -- / 2>/dev/null`, { allowFail: true });
    const exit = Number(/EXIT ([0-9]+)/.exec(check.stdout)?.[1] ?? -1);
    const stderr = check.stdout.replace(/EXIT [0-9]+\s*$/, '').trim();
    const stderrCheck = { exit, stderr, failedUids: [...parseSetquotaBatchErrors(stderr, uids).failed.keys()].sort(), uids };
    const loadAfter = (await vm.exec('cat /proc/loadavg')).stdout.trim();
    return { opts: o, guest, setupSec, runs, single, tool, stderrCheck, load: { before: loadBefore, after: loadAfter } };
  } finally {
    await vm.stop();
  }
}

const verdict = (ok: boolean): string => (ok ? '**met**' : '**MISSED**');

/** Section 11 of docs/benchmarks.md. */
export function renderQuotaVm(x: QuotaVmResult): string[] {
  const o = x.opts, runs = x.runs;
  const differs = runs.filter((r) => /differs/.test(r.label)), same = runs.filter((r) => !differs.includes(r));
  const med = (a: number[]) => summarize(a).median;
  const allSet = differs.every((r) => r.errors === 0 && r.quotas === o.users && r.limitsSeen === o.users);
  const worstWall = Math.max(...differs.map((r) => r.wallMs));
  const singleMs = med(x.single.map((s) => s.totalMs));
  return [
    `Runs in the qemu VM (test/e2e/lib/vm.ts: ${x.guest.cpus} vCPUs under TCG, ${x.guest.memoryMiB} MiB, guest kernel ${x.guest.kernel}, quota ${x.guest.quotaTools}, Node ${x.guest.node}), diycloud installed the documented way and running under its unit; ` +
      `/ is ext4 mounted \`usrquota,grpquota\` with quotas on (\`quotaon -p\`: ${x.guest.quotaOn}). ${o.users} database-only users bq${o.firstUid}…bq${o.firstUid + o.users - 1} (UIDs in the managed range, no NSS account: quota-tools names a quota by UID), each with a disk allocation. ` +
      `Before each "differs" run every allocation was changed by SQL, so Reconcile must set all ${o.users} quotas (\`setquota -u -b -c\`, ${SETQUOTA_BATCH_LINES} users per process); the baseline is the Reconcile right after it, where every quota matches and no tool runs. Runs alternate, 2.1 s apart (past the 2 s usage cache). ` +
      `Wall = \`busctl call … Reconcile\` timed inside the guest; daemon = the report's durationMs; limits seen = users whose soft and hard block limits in \`repquota\` are the wanted ones afterwards. Set-up (s): ${Object.entries(x.setupSec).map(([k, v]) => `${k} ${f(v)}`).join(', ')}. Guest load average before ${x.load.before}, after ${x.load.after}.`, '',
    '| Run | wall ms | daemon ms | quotas set | errors | limits seen |', '|---|---|---|---|---|---|',
    ...runs.map((r) => `| ${r.label} | ${r.wallMs} | ${r.durationMs} | ${r.quotas} | ${r.errors} | ${r.limitsSeen} |`),
    ...x.single.map((s) => `| ${o.users} single \`setquota -u -- UID …\` in a shell loop (the per-user path's tool cost alone), ${s.label} | ${s.totalMs} | – | ${o.users} | – | ${s.limitsSeen} |`),
    ...(x.tool ?? []).map((t) => `| \`setquota -u -b -c\` alone from a shell, ${o.users} users: ${t.label} | ${t.totalMs} | – | ${o.users} | – | ${t.limitsSeen} |`), '',
    ...(runs.some((r) => r.firstError) ? [`First error: \`${runs.find((r) => r.firstError)!.firstError}\``, ''] : []),
    `Cost per quota applied: ${f((med(differs.map((r) => r.durationMs)) - med(same.map((r) => r.durationMs))) / o.users, 2)} ms in the daemon (median "differs" − median "matches", / ${o.users}), against ${f(singleMs / o.users, 2)} ms per single setquota process from a shell (the old path also started each from Node and looked the user up with getent). ` +
      `Target ≤ 2 s for ${o.users} users: ${verdict(allSet && worstWall <= 2000)} (slowest "differs" run ${worstWall} ms wall${allSet ? '' : '; not every quota was set'}).`, '',
    `setquota -b's own report of refused lines (UIDs ${x.stderrCheck.uids.join(', ')}: a good line, an unparsable limit, 4 PiB, 1 EiB; exit ${x.stderrCheck.exit}): \`${x.stderrCheck.stderr.replace(/\n/g, ' | ') || '(nothing)'}\`; diycloud's parser marks ${x.stderrCheck.failedUids.length ? x.stderrCheck.failedUids.join(', ') : 'none'} failed.`, '',
  ];
}

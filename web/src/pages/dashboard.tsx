// Dashboard: the user's allocation as live bars against limits, where each limit comes from, history, events.
import { useEffect, useState } from 'preact/hooks';
import { cpuBar, formatBytes, formatCores, formatGpu, formatPercent, formatTime, liveLine, sourceLabel, usageBar } from '../lib/format';
import type { History } from '../lib/history';
import type { UserView, LiveUsage, LimitEvents } from '../lib/types';
import { qs, seg } from '../lib/api';
import { Loading, UsageBar, useGet, Status } from '../ui';
import { HistoryChart } from './chart';

export function useLive(name: string): LiveUsage | null {
  const [live, setLive] = useState<LiveUsage | null>(null);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const es = new EventSource(`/api/v1/live${qs({ user: name })}`);
    es.addEventListener('usage', (e) => {
      try {
        const d = JSON.parse((e as MessageEvent<string>).data) as LiveUsage & { users?: Record<string, LiveUsage> };
        setLive(d.users?.[name] ?? d);
      } catch { /* ignore a bad frame */ }
    });
    return () => es.close();
  }, [name]);
  return live;
}

export function Allocation({ u, live }: { u: UserView; live: LiveUsage | null }) {
  const a = u.allocation;
  const mem = live?.memoryBytes ?? u.cgroup.memoryCurrentBytes;
  const disk = live?.diskBytes ?? u.disk.find((d) => d.usedBytes !== null)?.usedBytes ?? null;
  const cpu = cpuBar(live?.cpuPercent ?? null, a.cpu);
  const mb = usageBar(mem, a.memory);
  const db = usageBar(disk, a.disk);
  const rows = [
    { key: 'cpu', label: 'CPU', bar: cpu, text: `${live && live.cpuPercent !== null ? formatPercent((live.cpuPercent ?? 0) / 100 / Math.max(a.cpu, 0.01)) : '–'} of ${formatCores(a.cpu)}` },
    { key: 'memory', label: 'Memory', bar: mb, text: `${formatBytes(mem)} of ${formatBytes(a.memory)}` },
    { key: 'disk', label: 'Disk', bar: db, text: a.disk > 0 ? `${formatBytes(disk)} of ${formatBytes(a.disk)}` : `${formatBytes(disk)} (no quota)` },
  ] as const;
  return (
    <section class="card" aria-labelledby="alloc-h">
      <h2 id="alloc-h">Allocation</h2>
      <p class="muted" aria-live="polite">{liveLine(live)}</p>
      {rows.map((r) => (
        <div key={r.key}>
          <UsageBar label={r.label} bar={r.bar} text={r.text} />
          <p class="source">Limit {sourceLabel(u.sources[r.key], u.role)}</p>
        </div>
      ))}
      <div class="bar-row"><div class="bar-label"><span>GPUs</span><span class="muted">{formatGpu(a.gpu)}</span></div></div>
      <p class="source">Limit {sourceLabel(u.sources.gpu, u.role)}</p>
      <div class="bar-row"><div class="bar-label"><span>Tasks</span><span class="muted">{live?.tasks ?? u.cgroup.tasksCurrent ?? '–'} of {a.tasks ?? 'no limit'}</span></div></div>
      <p class="source">Limit {sourceLabel(u.sources.tasks, u.role)}</p>
    </section>
  );
}

export function UsageHistory({ name }: { name: string }) {
  const [range, setRange] = useState<'hour' | 'day' | 'week'>('hour');
  const h = useGet<History>(`/users/${seg(name)}/usage${qs({ range })}`);
  return (
    <section class="card" aria-labelledby="hist-h">
      <h2 id="hist-h">History</h2>
      <div class="seg" role="group" aria-label="Range">
        {(['hour', 'day', 'week'] as const).map((r) => (
          <button type="button" key={r} aria-pressed={range === r} onClick={() => setRange(r)}>Last {r}</button>
        ))}
      </div>
      <Loading l={h}>{(d) => <><HistoryChart points={d.points} kind="cpu" /><HistoryChart points={d.points} kind="memory" /></>}</Loading>
    </section>
  );
}

export function EventsList({ name }: { name: string }) {
  const ev = useGet<LimitEvents>(`/users/${seg(name)}/events${qs({ limit: 20 })}`);
  return (
    <section class="card" aria-labelledby="ev-h">
      <h2 id="ev-h">Recent limit events</h2>
      <Loading l={ev}>{(d) => d.events.length === 0 ? <p class="muted">No limit events.</p> : (
        <div class="scroll"><table>
          <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Detail</th></tr></thead>
          <tbody>{d.events.map((e, i) => <tr key={i}><td>{formatTime(e.at)}</td><td>{e.kind}</td><td>{e.detail ?? ''}</td></tr>)}</tbody>
        </table></div>
      )}</Loading>
    </section>
  );
}

export function Dashboard({ name }: { name: string }) {
  const u = useGet<UserView>(`/users/${seg(name)}`);
  const live = useLive(name);
  return (
    <section>
      <h1>Dashboard</h1>
      {u.error ? <Status error={u.error} /> : null}
      <div class="grid">
        <Loading l={u}>{(d) => <Allocation u={d} live={live} />}</Loading>
        <EventsList name={name} />
      </div>
      <UsageHistory name={name} />
    </section>
  );
}

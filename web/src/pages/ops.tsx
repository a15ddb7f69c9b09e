// Operators: role profiles, the requests queue, the audit log, the host view.
import { useState } from 'preact/hooks';
import { qs, seg } from '../lib/api';
import { formatBytes, formatCores, formatGpu, formatTime, usageBar } from '../lib/format';
import { requestsOf } from '../lib/requests';
import { limitsBody } from '../lib/limits-form';
import type { AuditRow, HostSummary, LimitRequest, Profile, RequestsList } from '../lib/types';
import { Dialog, Field, Loading, Status, UsageBar, useAction, useApp, useGet } from '../ui';
import { RequestTable } from './self';

function ProfileRow({ p, onDone }: { p: Profile; onDone: () => void }) {
  const { api, session } = useApp();
  const [open, setOpen] = useState(false);
  const [v, setV] = useState({ cpu: '', memory: '', disk: '', gpu: '', tasks: '' });
  const act = useAction();
  const keys = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;
  const save = async (e: Event) => {
    e.preventDefault();
    if (await act.run(() => api.send('PUT', `/profiles/${seg(p.role)}`, limitsBody(v)))) { setOpen(false); onDone(); }
  };
  return (
    <tr>
      <th scope="row">{p.role}{p.builtin ? <span class="muted"> (built-in)</span> : null}</th><td>{p.members}</td>
      <td>{p.profile.cpu ?? '–'}</td><td>{p.profile.memory ?? '–'}</td><td>{p.profile.disk ?? '–'}</td><td>{p.profile.gpu ?? '–'}</td><td>{p.profile.tasks ?? '–'}</td>
      <td>{formatCores(p.allocation.cpu)}, {formatBytes(p.allocation.memory)}, {formatBytes(p.allocation.disk)} disk, {formatGpu(p.allocation.gpu)}</td>
      <td>{session.can.manageLimits ? <button type="button" onClick={() => setOpen(true)} aria-label={`Edit profile ${p.role}`}>Edit</button> : null}
        <Dialog title={`Edit profile ${p.role}`} open={open} onClose={() => { act.clear(); setOpen(false); }}>
          <form class="form" onSubmit={save}>
            {keys.map((k) => (
              <Field key={k} label={k === 'cpu' ? 'CPU cores' : k === 'gpu' ? 'GPUs' : k[0]!.toUpperCase() + k.slice(1)} hint={`now ${String(p.profile[k] ?? 'not set')}`}>
                <input value={v[k]} placeholder="unchanged" onInput={(e) => setV({ ...v, [k]: e.currentTarget.value })} />
              </Field>
            ))}
            <div class="actions"><button type="submit" class="primary" disabled={act.busy}>Save profile</button>
              <button type="button" onClick={() => setOpen(false)}>Cancel</button></div>
            <Status error={act.error} />
          </form>
        </Dialog>
      </td>
    </tr>
  );
}

export function Profiles() {
  const l = useGet<Profile[]>('/profiles');
  return (
    <section>
      <h1>Profiles</h1>
      <Loading l={l}>{(d) => (
        <div class="scroll"><table>
          <thead><tr><th scope="col">Role</th><th scope="col">Members</th><th scope="col">CPU</th><th scope="col">Memory</th><th scope="col">Disk</th><th scope="col">GPU</th><th scope="col">Tasks</th><th scope="col">Members get</th><th scope="col">Actions</th></tr></thead>
          <tbody>{d.map((p) => <ProfileRow key={p.role} p={p} onDone={l.reload} />)}</tbody>
        </table></div>
      )}</Loading>
    </section>
  );
}

function Decide({ r, onDone }: { r: LimitRequest; onDone: () => void }) {
  const { api } = useApp();
  const [mode, setMode] = useState<'approve' | 'deny' | null>(null);
  const [reason, setReason] = useState('');
  const act = useAction();
  if (r.state !== 'pending') return null;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!mode) return;
    const body = reason.trim() ? { reason: reason.trim() } : mode === 'approve' ? {} : { reason: '' };
    if (await act.run(() => api.send('POST', `/requests/${seg(r.id)}/${mode}`, body))) { setMode(null); setReason(''); onDone(); }
  };
  return (
    <>
      <button type="button" onClick={() => setMode('approve')} aria-label={`Approve request ${r.id}`}>Approve</button>{' '}
      <button type="button" onClick={() => setMode('deny')} aria-label={`Deny request ${r.id}`}>Deny</button>
      <Dialog title={`${mode === 'approve' ? 'Approve' : 'Deny'} request ${r.id}`} open={mode !== null} onClose={() => { act.clear(); setMode(null); }}>
        <form class="form" onSubmit={submit}>
          <p>{r.user} asks for {r.resource} = {r.amount}: {r.reason}</p>
          <Field label="Decision reason" hint={mode === 'approve' ? 'optional' : 'required'}><textarea required={mode === 'deny'} maxLength={500} rows={3} value={reason} onInput={(e) => setReason(e.currentTarget.value)} /></Field>
          <div class="actions"><button type="submit" class={mode === 'deny' ? 'danger' : 'primary'} disabled={act.busy}>{mode === 'approve' ? 'Confirm approve' : 'Confirm deny'}</button>
            <button type="button" onClick={() => setMode(null)}>Cancel</button></div>
          <Status error={act.error} />
        </form>
      </Dialog>
    </>
  );
}

export function RequestsQueue() {
  const { session } = useApp();
  const [state, setState] = useState('pending');
  const [user, setUser] = useState('');
  const l = useGet<RequestsList>(`/requests${qs({ state, user: user.trim() || undefined, limit: 100 })}`);
  return (
    <section>
      <h1>Requests</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="State"><select value={state} onChange={(e) => setState(e.currentTarget.value)}>
          <option value="pending">pending</option><option value="approved">approved</option><option value="denied">denied</option><option value="all">all</option>
        </select></Field>
        <Field label="User"><input value={user} onChange={(e) => setUser(e.currentTarget.value)} /></Field>
      </form>
      <Loading l={l}>{(d) => <RequestTable rows={requestsOf(d)} actions={session.can.manageLimits ? (r) => <Decide r={r} onDone={l.reload} /> : undefined} />}</Loading>
    </section>
  );
}

export function Audit() {
  const [user, setUser] = useState('');
  const [limit, setLimit] = useState('100');
  const l = useGet<AuditRow[]>(`/audit${qs({ user: user.trim() || undefined, limit })}`);
  return (
    <section>
      <h1>Audit log</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="User"><input value={user} onChange={(e) => setUser(e.currentTarget.value)} /></Field>
        <Field label="Rows"><select value={limit} onChange={(e) => setLimit(e.currentTarget.value)}><option>50</option><option>100</option><option>500</option></select></Field>
      </form>
      <Loading l={l}>{(d) => d.length === 0 ? <p class="muted">No audit rows.</p> : (
        <div class="scroll"><table>
          <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">By uid</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
          <tbody>{d.map((a) => <tr key={a.id}><td>{formatTime(a.at)}</td><td>{a.action}</td><td>{a.target}</td><td>{a.callerUid}</td><td><span class={`tag tag-${a.result === 'ok' ? 'approved' : 'denied'}`}>{a.result}</span></td><td>{a.detail}</td></tr>)}</tbody>
        </table></div>
      )}</Loading>
    </section>
  );
}

export function Host() {
  const l = useGet<HostSummary>('/host');
  return (
    <section>
      <h1>Host</h1>
      <Loading l={l}>{(h) => (
        <div class="grid">
          <section class="card"><h2>Capacity and allocation</h2>
            <UsageBar label="CPU allocated" bar={usageBar(h.cpu.allocatedCores, h.cpu.capacityCores)} text={`${formatCores(h.cpu.allocatedCores)} of ${formatCores(h.cpu.capacityCores)} (overcommit ${h.overcommit.cpu.toFixed(2)}×), ${Math.round(h.cpu.usedPercent)} % used`} />
            <UsageBar label="Memory allocated" bar={usageBar(h.memory.allocatedBytes, h.memory.capacityBytes)} text={`${formatBytes(h.memory.allocatedBytes)} of ${formatBytes(h.memory.capacityBytes)} (overcommit ${h.overcommit.memory.toFixed(2)}×), ${formatBytes(h.memory.usedBytes)} used`} />
            {h.disk.map((d) => <UsageBar key={d.path} label={`Disk ${d.path} allocated`} bar={usageBar(d.allocatedBytes, d.capacityBytes)} text={`${formatBytes(d.allocatedBytes)} of ${formatBytes(d.capacityBytes)}, ${formatBytes(d.usedBytes)} used`} />)}
          </section>
          <section class="card"><h2>GPUs</h2>
            {h.gpus.length === 0 ? <p class="muted">No GPUs.</p> : <ul class="plain">{h.gpus.map((g) => <li key={g.index}><strong>GPU {g.index}</strong> {g.name}: {g.holders.length ? g.holders.join(', ') : <span class="muted">nobody</span>}</li>)}</ul>}
          </section>
          <section class="card"><h2>Over their limits</h2>
            {h.over.length === 0 ? <p class="muted">Nobody is over a limit.</p> : (
              <div class="scroll"><table><thead><tr><th scope="col">User</th><th scope="col">Resource</th><th scope="col">Usage</th><th scope="col">Limit</th></tr></thead>
                <tbody>{h.over.map((o, i) => <tr key={i}><td>{o.user}</td><td>{o.resource}</td><td>{typeof o.usage === 'number' && o.resource !== 'cpu' ? formatBytes(o.usage) : String(o.usage)}</td><td>{typeof o.limit === 'number' && o.resource !== 'cpu' ? formatBytes(o.limit) : String(o.limit)}</td></tr>)}</tbody></table></div>
            )}
          </section>
        </div>
      )}</Loading>
    </section>
  );
}

// A user's own pages: request more, change password, login sessions.
import { useState } from 'preact/hooks';
import { qs, seg } from '../lib/api';
import { formatTime } from '../lib/format';
import { requestsOf } from '../lib/requests';
import type { RequestsList, SessionsList } from '../lib/types';
import { Field, Loading, Status, useAction, useApp, useGet } from '../ui';

export const RESOURCES = [
  { value: 'cpu', label: 'CPU cores', hint: 'e.g. 4' },
  { value: 'memory', label: 'Memory', hint: 'e.g. 8G' },
  { value: 'disk', label: 'Disk', hint: 'e.g. 50G' },
  { value: 'gpu', label: 'GPUs', hint: 'e.g. 0,1 or all' },
  { value: 'tasks', label: 'Tasks', hint: 'e.g. 2000' },
] as const;

export function RequestMore() {
  const { api, session } = useApp();
  const [resource, setResource] = useState('cpu');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const act = useAction();
  // Only the user's own: without `user`, an operator's or admin's list would hold everyone's.
  const mine = useGet<RequestsList>(`/requests${qs({ user: session.user, state: 'all', limit: 50 })}`);
  const hint = RESOURCES.find((r) => r.value === resource)?.hint;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await act.run(() => api.send('POST', '/requests', { resource, amount: amount.trim(), reason: reason.trim() }), 'Request sent.')) {
      setAmount(''); setReason(''); mine.reload();
    }
  };
  return (
    <section>
      <h1>Request more</h1>
      <form class="card form" onSubmit={submit}>
        <Field label="Resource">
          <select name="resource" value={resource} onChange={(e) => setResource(e.currentTarget.value)}>
            {RESOURCES.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
          </select>
        </Field>
        <Field label="Amount" hint={hint}><input name="amount" required value={amount} onInput={(e) => setAmount(e.currentTarget.value)} /></Field>
        <Field label="Reason"><textarea name="reason" required maxLength={500} rows={3} value={reason} onInput={(e) => setReason(e.currentTarget.value)} /></Field>
        <button type="submit" class="primary" disabled={act.busy}>Submit request</button>
        <Status error={act.error} ok={act.ok} />
      </form>
      <h2>My requests</h2>
      <Loading l={mine}>{(d) => <RequestTable rows={requestsOf(d)} />}</Loading>
    </section>
  );
}

export function RequestTable({ rows, actions }: { rows: ReturnType<typeof requestsOf>; actions?: (r: ReturnType<typeof requestsOf>[number]) => preact.ComponentChildren }) {
  if (rows.length === 0) return <p class="muted">No requests.</p>;
  return (
    <div class="scroll"><table>
      <thead><tr><th scope="col">Filed</th><th scope="col">User</th><th scope="col">Resource</th><th scope="col">Amount</th><th scope="col">Reason</th><th scope="col">State</th><th scope="col">Decision</th>{actions ? <th scope="col">Actions</th> : null}</tr></thead>
      <tbody>{rows.map((r) => (
        <tr key={r.id}>
          <td>{formatTime(r.filedAt)}</td><td>{r.user}</td><td>{r.resource}</td><td>{r.amount}</td><td>{r.reason}</td>
          <td><span class={`tag tag-${r.state}`}>{r.state}</span></td>
          <td>{r.decisionReason ?? ''}{r.decidedAt ? <span class="muted"> ({formatTime(r.decidedAt)})</span> : null}</td>
          {actions ? <td>{actions(r)}</td> : null}
        </tr>
      ))}</tbody>
    </table></div>
  );
}

export function passwordProblem(next: string, repeat: string): string | null {
  if (next.length === 0) return 'Enter a new password.';
  if (next !== repeat) return 'The new passwords do not match.';
  return null;
}

export function Password() {
  const { api, session } = useApp();
  const [oldPassword, setOld] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const act = useAction();
  const [local, setLocal] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const p = passwordProblem(next, repeat);
    setLocal(p);
    if (p) return;
    if (await act.run(() => api.send('PUT', `/users/${seg(session.user)}/password`, { password: next, oldPassword }), 'Password changed.')) {
      setOld(''); setNext(''); setRepeat('');
    }
  };
  return (
    <section>
      <h1>Change password</h1>
      <form class="card form" onSubmit={submit}>
        <Field label="Current password"><input type="password" autocomplete="current-password" required value={oldPassword} onInput={(e) => setOld(e.currentTarget.value)} /></Field>
        <Field label="New password"><input type="password" autocomplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} /></Field>
        <Field label="Repeat new password"><input type="password" autocomplete="new-password" required value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} /></Field>
        <button type="submit" class="primary" disabled={act.busy}>Change password</button>
        <Status error={local ?? act.error} ok={act.ok} />
      </form>
    </section>
  );
}

export function SessionsTable({ name }: { name: string }) {
  const s = useGet<SessionsList>(`/users/${seg(name)}/sessions`);
  return (
    <Loading l={s}>{(d) => d.sessions.length === 0 ? <p class="muted">No sessions recorded.</p> : (
      <div class="scroll"><table>
        <thead><tr><th scope="col">Service</th><th scope="col">Terminal</th><th scope="col">From</th><th scope="col">Opened</th><th scope="col">Closed</th></tr></thead>
        <tbody>{d.sessions.map((x, i) => <tr key={i}><td>{x.service}</td><td>{x.tty ?? ''}</td><td>{x.rhost ?? ''}</td><td>{formatTime(x.openedAt)}</td><td>{x.closedAt ? formatTime(x.closedAt) : <span class="tag tag-approved">open</span>}</td></tr>)}</tbody>
      </table></div>
    )}</Loading>
  );
}

export function Sessions({ name }: { name: string }) {
  return <section><h1>Sessions</h1><p class="muted">Your login sessions on this server, newest first.</p><SessionsTable name={name} /></section>;
}

// Operators: the users table (server-side search/sort/filter/paging) and one user's page.
import { useState } from 'preact/hooks';
import { seg } from '../lib/api';
import { formatBytes, formatCores, formatGpu, formatTime, sourceLabel } from '../lib/format';
import { usersQuery, type UsersFilter } from '../lib/users-query';
import { limitsBody } from '../lib/limits-form';
import type { UserView, UsersPage as Page } from '../lib/types';
import { hrefFor } from '../lib/nav';
import { Field, Loading, Status, useAction, useApp, useGet } from '../ui';
import { Allocation, EventsList, useLive } from './dashboard';
import { SessionsTable } from './self';
import { CreateUserDialog, AdoptUserDialog, DeleteUserDialog } from './user-dialogs';

const PAGE = 25;

export function UsersPage() {
  const { session } = useApp();
  const [f, setF] = useState<UsersFilter>({ search: '', role: '', enabled: '', overQuota: false, hasGpu: false, sort: 'name', order: 'asc', offset: 0 });
  const list = useGet<Page>(`/users${usersQuery(f, PAGE)}`);
  const [dlg, setDlg] = useState<'create' | 'adopt' | null>(null);
  const set = (p: Partial<UsersFilter>) => setF({ ...f, offset: 0, ...p });
  const sortBy = (key: string) => setF({ ...f, sort: key, order: f.sort === key && f.order === 'asc' ? 'desc' : 'asc', offset: 0 });
  const th = (key: string, label: string) => (
    <th scope="col" aria-sort={f.sort === key ? (f.order === 'asc' ? 'ascending' : 'descending') : undefined}>
      <button type="button" class="link" onClick={() => sortBy(key)}>{label}{f.sort === key ? (f.order === 'asc' ? ' ▲' : ' ▼') : ''}</button>
    </th>
  );
  return (
    <section>
      <h1>Users</h1>
      {session.can.manageUsers ? (
        <div class="actions">
          <button type="button" onClick={() => setDlg('create')}>Create user</button>
          <button type="button" onClick={() => setDlg('adopt')}>Adopt user</button>
        </div>
      ) : null}
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search"><input type="search" value={f.search} onInput={(e) => set({ search: e.currentTarget.value })} /></Field>
        <Field label="Role"><input value={f.role} placeholder="any" onChange={(e) => set({ role: e.currentTarget.value.trim() })} /></Field>
        <Field label="Status">
          <select value={f.enabled} onChange={(e) => set({ enabled: e.currentTarget.value as UsersFilter['enabled'] })}>
            <option value="">any</option><option value="true">enabled</option><option value="false">disabled</option>
          </select>
        </Field>
        <label class="check"><input type="checkbox" checked={f.overQuota} onChange={(e) => set({ overQuota: e.currentTarget.checked })} /> Over quota</label>
        <label class="check"><input type="checkbox" checked={f.hasGpu} onChange={(e) => set({ hasGpu: e.currentTarget.checked })} /> Has GPU</label>
        <Field label="Sort by">
          <select value={f.sort} onChange={(e) => set({ sort: e.currentTarget.value })}>
            <option value="name">name</option><option value="uid">UID</option><option value="role">role</option><option value="memory">memory limit</option>
            <option value="cpuUsage">CPU use</option><option value="memoryUsage">memory use</option>
          </select>
        </Field>
        <Field label="Order">
          <select value={f.order} onChange={(e) => set({ order: e.currentTarget.value as UsersFilter['order'] })}>
            <option value="asc">ascending</option><option value="desc">descending</option>
          </select>
        </Field>
      </form>
      <Loading l={list}>{(d) => (
        <>
          <p class="muted" aria-live="polite">{d.total} users{d.total > 0 ? `, showing ${d.offset + 1}–${d.offset + d.users.length}` : ''}</p>
          <div class="scroll"><table>
            <thead><tr>{th('name', 'Name')}{th('uid', 'UID')}{th('role', 'Role')}<th scope="col">Status</th>{th('memory', 'Memory limit')}<th scope="col">CPU</th><th scope="col">GPU</th><th scope="col">Logged in</th>{th('memoryUsage', 'Memory use')}</tr></thead>
            <tbody>{d.users.map((u) => (
              <tr key={u.uid}>
                <td><a href={hrefFor('user', u.name)}>{u.name}</a></td><td>{u.uid}</td><td>{u.role}</td>
                <td>{u.enabled ? 'enabled' : <span class="tag tag-denied">disabled</span>}{u.disk.some((x) => x.overQuota) ? <span class="tag tag-denied"> over quota</span> : null}</td>
                <td>{formatBytes(u.allocation.memory)}</td><td>{formatCores(u.allocation.cpu)}</td><td>{formatGpu(u.allocation.gpu)}</td>
                <td>{u.cgroup.exists ? 'yes' : 'no'}</td><td>{formatBytes(u.cgroup.memoryCurrentBytes)}</td>
              </tr>
            ))}</tbody>
          </table></div>
          <div class="pager">
            <button type="button" disabled={d.offset === 0} onClick={() => setF({ ...f, offset: Math.max(0, f.offset - PAGE) })}>Previous page</button>
            <button type="button" disabled={d.offset + d.users.length >= d.total} onClick={() => setF({ ...f, offset: f.offset + PAGE })}>Next page</button>
          </div>
        </>
      )}</Loading>
      <CreateUserDialog open={dlg === 'create'} onClose={() => setDlg(null)} onDone={list.reload} />
      <AdoptUserDialog open={dlg === 'adopt'} onClose={() => setDlg(null)} onDone={list.reload} />
    </section>
  );
}

function LimitsForm({ u, onDone }: { u: UserView; onDone: () => void }) {
  const { api } = useApp();
  const [v, setV] = useState({ cpu: '', memory: '', disk: '', gpu: '', tasks: '' });
  const act = useAction();
  const keys = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;
  const labels = { cpu: 'CPU cores', memory: 'Memory', disk: 'Disk', gpu: 'GPUs', tasks: 'Tasks' };
  const now = { cpu: formatCores(u.allocation.cpu), memory: formatBytes(u.allocation.memory), disk: formatBytes(u.allocation.disk), gpu: formatGpu(u.allocation.gpu), tasks: String(u.allocation.tasks ?? 'no limit') };
  const save = async (e: Event) => {
    e.preventDefault();
    if (Object.values(v).every((x) => x.trim() === '')) return;
    if (await act.run(() => api.send('PUT', `/users/${seg(u.name)}/limits`, limitsBody(v)), 'Limits saved.')) { setV({ cpu: '', memory: '', disk: '', gpu: '', tasks: '' }); onDone(); }
  };
  const reset = async () => { if (await act.run(() => api.send('DELETE', `/users/${seg(u.name)}/limits`), 'Limits reset to the profile.')) onDone(); };
  return (
    <form class="card form" onSubmit={save} aria-labelledby="lim-h">
      <h2 id="lim-h">Limits</h2>
      {keys.map((k) => (
        <Field key={k} label={labels[k]} hint={`now ${now[k]}, ${sourceLabel(u.sources[k], u.role)}`}>
          <input name={k} value={v[k]} placeholder="unchanged" onInput={(e) => setV({ ...v, [k]: e.currentTarget.value })} />
        </Field>
      ))}
      <div class="actions"><button type="submit" class="primary" disabled={act.busy}>Save limits</button>
        <button type="button" disabled={act.busy} onClick={reset}>Reset limits</button></div>
      <Status error={act.error} ok={act.ok} />
    </form>
  );
}

function RecordForm({ u, onDone }: { u: UserView; onDone: () => void }) {
  const { api, session } = useApp();
  const [role, setRole] = useState(u.role);
  const [email, setEmail] = useState(u.email ?? '');
  const [pw, setPw] = useState('');
  const act = useAction();
  return (
    <div class="card form">
      <h2>Account</h2>
      <dl class="kv">
        <dt>UID</dt><dd>{u.uid}</dd><dt>Managed</dt><dd>{u.managed ? 'yes' : 'no'}{u.inDatabase ? '' : ' (not adopted)'}</dd>
        <dt>Created</dt><dd>{formatTime(u.created)}</dd><dt>Last login</dt><dd>{formatTime(u.lastLogin)}</dd>
        <dt>Status</dt><dd>{u.enabled ? 'enabled' : 'disabled'}</dd>
      </dl>
      {session.can.manageUsers ? (<>
        <form class="inline" onSubmit={async (e) => { e.preventDefault(); if (await act.run(() => api.send('PUT', `/users/${seg(u.name)}/role`, { role }), 'Role changed.')) onDone(); }}>
          <Field label="Role"><input name="role" required value={role} onInput={(e) => setRole(e.currentTarget.value)} /></Field>
          <button type="submit" disabled={act.busy}>Set role</button>
        </form>
        <form class="inline" onSubmit={async (e) => { e.preventDefault(); if (await act.run(() => api.send('PUT', `/users/${seg(u.name)}/email`, { email }), 'E-mail changed.')) onDone(); }}>
          <Field label="E-mail"><input name="email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} /></Field>
          <button type="submit" disabled={act.busy}>Set e-mail</button>
        </form>
        <form class="inline" onSubmit={async (e) => { e.preventDefault(); if (await act.run(() => api.send('PUT', `/users/${seg(u.name)}/password`, { password: pw }), 'Password reset.')) setPw(''); }}>
          <Field label="New password for this user"><input type="password" autocomplete="new-password" required value={pw} onInput={(e) => setPw(e.currentTarget.value)} /></Field>
          <button type="submit" disabled={act.busy}>Reset password</button>
        </form>
      </>) : null}
      {session.can.setEnabled ? (
        <button type="button" disabled={act.busy} onClick={async () => { if (await act.run(() => api.send('PUT', `/users/${seg(u.name)}/enabled`, { enabled: !u.enabled, terminate: u.enabled }), u.enabled ? 'User disabled.' : 'User enabled.')) onDone(); }}>
          {u.enabled ? 'Disable user' : 'Enable user'}
        </button>
      ) : null}
      <Status error={act.error} ok={act.ok} />
    </div>
  );
}

export function UserPage({ name }: { name: string }) {
  const { session } = useApp();
  const u = useGet<UserView>(`/users/${seg(name)}`);
  const live = useLive(name);
  const [del, setDel] = useState(false);
  return (
    <section>
      <h1>User {name}</h1>
      <p><a href={hrefFor('users')}>Back to users</a></p>
      <Loading l={u}>{(d) => (
        <div class="grid">
          <Allocation u={d} live={live} />
          <RecordForm u={d} onDone={u.reload} />
          {session.can.manageLimits ? <LimitsForm u={d} onDone={u.reload} /> : null}
          <EventsList name={name} />
          <section class="card"><h2>Sessions</h2><SessionsTable name={name} /></section>
        </div>
      )}</Loading>
      {session.can.manageUsers ? <p><button type="button" class="danger" onClick={() => setDel(true)}>Delete user</button></p> : null}
      <DeleteUserDialog name={name} open={del} onClose={() => setDel(false)} onDone={() => { location.hash = hrefFor('users'); }} />
    </section>
  );
}

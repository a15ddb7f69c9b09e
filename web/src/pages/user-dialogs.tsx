// Create, adopt and delete a user: dialogs with a confirmation step (delete: type the name).
import { useState } from 'preact/hooks';
import { qs, seg } from '../lib/api';
import { Dialog, Field, Status, useAction, useApp } from '../ui';

interface Props { open: boolean; onClose: () => void; onDone: () => void }

export function CreateUserDialog({ open, onClose, onDone }: Props) {
  const { api } = useApp();
  const [v, setV] = useState({ user: '', email: '', role: 'user', password: '' });
  const [confirm, setConfirm] = useState(false);
  const act = useAction();
  const close = () => { setConfirm(false); act.clear(); onClose(); };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!confirm) { setConfirm(true); return; }
    const body: Record<string, string> = { user: v.user.trim(), email: v.email.trim(), role: v.role.trim() };
    if (v.password) body.password = v.password;
    if (await act.run(() => api.send('POST', '/users', body))) { setV({ user: '', email: '', role: 'user', password: '' }); setConfirm(false); onDone(); onClose(); }
  };
  return (
    <Dialog title="Create user" open={open} onClose={close}>
      <form class="form" onSubmit={submit}>
        <Field label="User name"><input required value={v.user} disabled={confirm} onInput={(e) => setV({ ...v, user: e.currentTarget.value })} /></Field>
        <Field label="E-mail"><input type="email" required value={v.email} disabled={confirm} onInput={(e) => setV({ ...v, email: e.currentTarget.value })} /></Field>
        <Field label="Role"><input required value={v.role} disabled={confirm} onInput={(e) => setV({ ...v, role: e.currentTarget.value })} /></Field>
        <Field label="Initial password" hint="optional"><input type="password" autocomplete="new-password" value={v.password} disabled={confirm} onInput={(e) => setV({ ...v, password: e.currentTarget.value })} /></Field>
        {confirm ? <p>Create user <strong>{v.user}</strong> with role <strong>{v.role}</strong>?</p> : null}
        <div class="actions">
          <button type="submit" class="primary" disabled={act.busy}>{confirm ? 'Confirm create' : 'Create'}</button>
          {confirm ? <button type="button" onClick={() => setConfirm(false)}>Back</button> : null}
          <button type="button" onClick={close}>Cancel</button>
        </div>
        <Status error={act.error} />
      </form>
    </Dialog>
  );
}

export function AdoptUserDialog({ open, onClose, onDone }: Props) {
  const { api } = useApp();
  const [user, setUser] = useState('');
  const [role, setRole] = useState('user');
  const [confirm, setConfirm] = useState(false);
  const act = useAction();
  const close = () => { setConfirm(false); act.clear(); onClose(); };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!confirm) { setConfirm(true); return; }
    if (await act.run(() => api.send('POST', `/users/${seg(user.trim())}/adopt`, { role: role.trim() }))) { setUser(''); setConfirm(false); onDone(); onClose(); }
  };
  return (
    <Dialog title="Adopt user" open={open} onClose={close}>
      <form class="form" onSubmit={submit}>
        <Field label="Existing user name"><input required value={user} disabled={confirm} onInput={(e) => setUser(e.currentTarget.value)} /></Field>
        <Field label="Role"><input required value={role} disabled={confirm} onInput={(e) => setRole(e.currentTarget.value)} /></Field>
        {confirm ? <p>Adopt <strong>{user}</strong> into diycloud with role <strong>{role}</strong>?</p> : null}
        <div class="actions">
          <button type="submit" class="primary" disabled={act.busy}>{confirm ? 'Confirm adopt' : 'Adopt'}</button>
          <button type="button" onClick={close}>Cancel</button>
        </div>
        <Status error={act.error} />
      </form>
    </Dialog>
  );
}

export function DeleteUserDialog({ name, open, onClose, onDone }: Props & { name: string }) {
  const { api } = useApp();
  const [typed, setTyped] = useState('');
  const [removeHome, setRemoveHome] = useState(false);
  const act = useAction();
  const close = () => { setTyped(''); act.clear(); onClose(); };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (typed !== name) return;
    if (await act.run(() => api.send('DELETE', `/users/${seg(name)}${qs({ removeHome: removeHome ? 'true' : 'false' })}`))) { setTyped(''); onClose(); onDone(); }
  };
  return (
    <Dialog title={`Delete user ${name}`} open={open} onClose={close}>
      <form class="form" onSubmit={submit}>
        <p>This removes the account. Type the user name to confirm.</p>
        <Field label="Type the user name to confirm"><input value={typed} autocomplete="off" onInput={(e) => setTyped(e.currentTarget.value)} /></Field>
        <label class="check"><input type="checkbox" checked={removeHome} onChange={(e) => setRemoveHome(e.currentTarget.checked)} /> Also remove the home directory</label>
        <div class="actions">
          <button type="submit" class="danger" disabled={act.busy || typed !== name}>Delete permanently</button>
          <button type="button" onClick={close}>Cancel</button>
        </div>
        <Status error={act.error} />
      </form>
    </Dialog>
  );
}

// The portal's front end: session, login, navigation, routing (hash routes: #/users/alice).
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import './style.css';
import { createApi, type FetchLike } from './lib/api';
import { allowed, hrefFor, navFor, parseHash, type Route, type Session } from './lib/nav';
import { Ctx, Status, errText, Field } from './ui';
import { Dashboard } from './pages/dashboard';
import { RequestMore, Password, Sessions } from './pages/self';
import { UsersPage, UserPage } from './pages/users';
import { Profiles, RequestsQueue, Audit, Host } from './pages/ops';

const api = createApi(((url, init) => fetch(url, init)) as FetchLike, () => { window.dispatchEvent(new Event('diycloud:unauth')); });

function useRoute(): Route {
  const [r, setR] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const f = () => setR(parseHash(location.hash));
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return r;
}

function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const s = await api.send<Session>('POST', '/login', { user, password });
      setPassword('');
      const full = await api.get<Session>('/session').catch(() => s);
      onLogin(full);
    } catch (err) { setError(errText(err)); } finally { setBusy(false); }
  };
  return (
    <main class="login" id="main">
      <form class="card login-card" onSubmit={submit}>
        <h1>Sign in to diycloud</h1>
        <Field label="User name"><input name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} /></Field>
        <Field label="Password"><input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} /></Field>
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
        <Status error={error} />
      </form>
    </main>
  );
}

function Page({ route, session }: { route: Route; session: Session }) {
  if (!allowed(route.name, session.can, session.user, route.param)) {
    return <section><h1>Not allowed</h1><p>You are not allowed to open this page.</p></section>;
  }
  switch (route.name) {
    case 'dashboard': return <Dashboard name={session.user} />;
    case 'request': return <RequestMore />;
    case 'password': return <Password />;
    case 'sessions': return <Sessions name={session.user} />;
    case 'users': return <UsersPage />;
    case 'user': return <UserPage name={route.param ?? ''} />;
    case 'profiles': return <Profiles />;
    case 'requests': return <RequestsQueue />;
    case 'audit': return <Audit />;
    case 'host': return <Host />;
    default: return <section><h1>Page not found</h1><p><a href="#/">Go to the dashboard</a></p></section>;
  }
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(null);
  const [checked, setChecked] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const [n, setN] = useState(0);
  useEffect(() => {
    api.get<Session>('/session').then((s) => { api.setCsrf(s.csrfToken); setSession(s); }, () => { api.setCsrf(null); setSession(null); })
      .finally(() => setChecked(true));
  }, [n]);
  useEffect(() => {
    const f = () => { api.setCsrf(null); setSession(null); };
    window.addEventListener('diycloud:unauth', f);
    return () => window.removeEventListener('diycloud:unauth', f);
  }, []);
  useEffect(() => { setMenuOpen(false); }, [route.name, route.param]);
  const ctx = useMemo(() => (session ? { api, session, refreshSession: () => setN((x) => x + 1) } : null), [session]);
  if (!checked) return <p class="muted center">Loading…</p>;
  if (!session || !ctx) {
    return <Login onLogin={(s) => { api.setCsrf(s.csrfToken); setSession(s); if (route.name === 'login') location.hash = '#/'; }} />;
  }
  const nav = navFor(session.can);
  const logout = async () => {
    try { await api.send('POST', '/logout'); } catch { /* gone anyway */ }
    api.setCsrf(null); setSession(null);
  };
  const current = route.name === 'user' ? 'users' : route.name;
  return (
    <Ctx.Provider value={ctx}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <a class="brand" href="#/">diycloud</a>
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="mainnav" onClick={() => setMenuOpen(!menuOpen)}>Menu</button>
        <nav id="mainnav" aria-label="Main" class={menuOpen ? 'open' : ''}>
          <ul>
            {nav.map((i) => (
              <li key={i.route}><a href={hrefFor(i.route)} aria-current={current === i.route ? 'page' : undefined}>{i.label}</a></li>
            ))}
          </ul>
        </nav>
        <div class="who"><span>{session.user}</span> <span class="muted">({session.role})</span>
          <button type="button" onClick={logout}>Sign out</button></div>
      </header>
      <main id="main" tabIndex={-1}><Page route={route} session={session} /></main>
    </Ctx.Provider>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);

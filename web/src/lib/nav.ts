// Routes and the navigation a session may see (by its "can" flags; the server checks every call anyway).

export interface Can { readUsers: boolean; manageLimits: boolean; manageUsers: boolean; setEnabled: boolean }

export interface Session {
  user: string; uid: number; role: string; csrfToken: string;
  idleExpiresAt: string; absoluteExpiresAt: string; can: Can;
}

export type RouteName = 'dashboard' | 'request' | 'password' | 'sessions' | 'users' | 'user' | 'profiles' | 'requests' | 'audit' | 'host' | 'login' | 'notFound';

export interface Route { name: RouteName; param?: string }

export interface NavItem { route: RouteName; label: string; path: string }

const ALL: (NavItem & { need?: keyof Can })[] = [
  { route: 'dashboard', label: 'Dashboard', path: '/' },
  { route: 'request', label: 'Request more', path: '/request' },
  { route: 'password', label: 'Password', path: '/password' },
  { route: 'sessions', label: 'Sessions', path: '/sessions' },
  { route: 'users', label: 'Users', path: '/users', need: 'readUsers' },
  { route: 'profiles', label: 'Profiles', path: '/profiles', need: 'readUsers' },
  { route: 'requests', label: 'Requests', path: '/requests', need: 'readUsers' },
  { route: 'audit', label: 'Audit log', path: '/audit', need: 'readUsers' },
  { route: 'host', label: 'Host', path: '/host', need: 'readUsers' },
];

export function navFor(can: Can | null): NavItem[] {
  return ALL.filter((i) => !i.need || (can !== null && can[i.need] === true)).map(({ route, label, path }) => ({ route, label, path }));
}

/** The route a hash ("#/users/alice") names. */
export function parseHash(hash: string): Route {
  const path = (hash.startsWith('#') ? hash.slice(1) : hash) || '/';
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0) return { name: 'dashboard' };
  const [head, second] = parts;
  if (parts.length === 1) {
    const item = ALL.find((i) => i.path === `/${head}`);
    if (item) return { name: item.route };
    if (head === 'login') return { name: 'login' };
  }
  if (head === 'users' && parts.length === 2 && second) {
    let name: string;
    try { name = decodeURIComponent(second); } catch { return { name: 'notFound' }; }
    return { name: 'user', param: name };
  }
  return { name: 'notFound' };
}

export function hrefFor(route: RouteName, param?: string): string {
  if (route === 'user') return `#/users/${encodeURIComponent(param ?? '')}`;
  if (route === 'login') return '#/login';
  const item = ALL.find((i) => i.route === route);
  return `#${item ? item.path : '/'}`;
}

/** Whether the session may open this route (operator pages need readUsers). */
export function allowed(route: RouteName, can: Can | null, self?: string, param?: string): boolean {
  if (route === 'user') return (can?.readUsers ?? false) || (self !== undefined && self === param);
  const item = ALL.find((i) => i.route === route);
  if (!item) return true;
  return !item.need || (can !== null && can[item.need] === true);
}

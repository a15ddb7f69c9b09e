// A unix socket that accepts connections and never answers: a hung dbus-daemon, as the login gate sees it.

import { createServer, type Socket } from 'node:net';

export interface SilentSocket {
  readonly path: string;
  close(): Promise<void>;
}

export async function startSilentSocket(path: string): Promise<SilentSocket> {
  const held: Socket[] = [];
  const server = createServer((s) => void held.push(s));
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    close: () => {
      held.forEach((s) => s.destroy());
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// Runs test/contract/polkit-subject.js as some uid: a connection that stays on the bus until closed.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './test-bus';
import { busctl } from './daemon-process';
import type { PolkitContractContext, Subject, Who } from '../../contract/polkit-contract';

/** Starts `node polkit-subject.js` as `uid` (setpriv, like busctl's asUid) and resolves with its unique name. */
export function connectAsUid(address: string, uid: number): Promise<Subject> {
  const child = spawn('/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath,
    join(REPO, 'test', 'contract', 'polkit-subject.js'), join(REPO, 'node_modules', 'dbus-next'), address], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill(), reject(new Error(`polkit-subject as ${uid} did not connect: ${err}`))), 10_000);
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('close', (code) => (clearTimeout(timer), reject(new Error(`polkit-subject as ${uid} exited ${code}: ${err}`))));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const name = /^(:\S+)\n/.exec(out)?.[1];
      if (!name) return;
      clearTimeout(timer);
      resolve({
        busName: name,
        async close() {
          child.stdin.end();
          await exited;
        },
      });
    });
  });
}

/** The polkit contract's context on a test bus, with the callers as host uids. */
export function polkitContext(address: string, uids: Record<Who, number>): PolkitContractContext {
  return {
    busctl: (args, o = {}) => busctl(address, args, o.as && uids[o.as] !== 0 ? { asUid: uids[o.as] } : {}),
    connectAs: (who) => connectAsUid(address, uids[who]),
  };
}

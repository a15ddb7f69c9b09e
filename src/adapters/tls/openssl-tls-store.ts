// TlsStore with openssl(1): a self-signed certificate made, an admin's pair checked and copied, the expiry read; never overwriting.

import { chmod, link, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DiycloudError } from '../../core/errors';
import { certificateNameKind, parseOpensslEndDate, WEB_LAYOUT, type TlsStore } from '../../core/web-portal';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export interface TlsPaths {
  readonly openssl: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export const TLS_PATHS: TlsPaths = { openssl: '/usr/bin/openssl', certFile: WEB_LAYOUT.certFile, keyFile: WEB_LAYOUT.keyFile };

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
const said = (r: { stderr: string; stdout: string }): string => (r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' ');

/**
 * How a key never becomes readable by others, even for a moment: openssl writes it (and the
 * certificate) into a fresh directory made by mkdtemp (mode 0700) beside the final place, the
 * files get their modes there (key 0600, certificate 0644), and link(2) puts each in its place,
 * which fails with EEXIST instead of replacing a file that is there (then nothing is kept). The
 * temporary directory is removed in every case. The process runs as root, so the files are root's.
 */
export class OpensslTlsStore implements TlsStore {
  constructor(private readonly paths: TlsPaths = TLS_PATHS, private readonly run: RunFn = runProgram) {}

  available(): Promise<boolean> {
    return exists(this.paths.openssl);
  }

  async present(): Promise<{ cert: boolean; key: boolean }> {
    return { cert: await exists(this.paths.certFile), key: await exists(this.paths.keyFile) };
  }

  async generate(hostname: string, days: number): Promise<void> {
    const kind = certificateNameKind(hostname);
    if (kind === null) throw new DiycloudError('InvalidArgument', `${JSON.stringify(hostname)} is not a host name or an IP address`, { field: 'hostname' });
    if (!Number.isInteger(days) || days < 1) throw new DiycloudError('InvalidArgument', `days: ${days} is not a positive whole number`, { field: 'days' });
    await this.staged(async (dir) => {
      const r = await this.run(this.paths.openssl, [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', String(days),
        '-subj', `/CN=${hostname}`, '-addext', `subjectAltName=${kind === 'ip' ? 'IP' : 'DNS'}:${hostname}`,
      ], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new DiycloudError('BackendFailed', `openssl req failed (exit ${r.code ?? r.signal}): ${said(r)}`);
    });
  }

  async install(certPath: string, keyPath: string): Promise<void> {
    const certPub = await this.run(this.paths.openssl, ['x509', '-noout', '-pubkey', '-in', certPath], { timeoutMs: 30_000 });
    if (certPub.code !== 0) throw new DiycloudError('InvalidArgument', `--cert ${certPath}: not a readable PEM certificate (${said(certPub)})`, { field: 'cert' });
    // -passin pass: makes an encrypted key fail at once instead of waiting for a passphrase nginx could not give either.
    const keyPub = await this.run(this.paths.openssl, ['pkey', '-pubout', '-passin', 'pass:', '-in', keyPath], { timeoutMs: 30_000 });
    if (keyPub.code !== 0) throw new DiycloudError('InvalidArgument', `--key ${keyPath}: not a readable, unencrypted PEM private key (${said(keyPub)})`, { field: 'key' });
    if (certPub.stdout.trim() !== keyPub.stdout.trim()) throw new DiycloudError('InvalidArgument', `--key ${keyPath} is not the key of the certificate ${certPath}`, { field: 'key' });
    const [cert, key] = [await readFile(certPath), await readFile(keyPath)];
    await this.staged(async (dir) => {
      await writeFile(join(dir, 'key.pem'), key, { mode: 0o600, flag: 'wx' });
      await writeFile(join(dir, 'cert.pem'), cert, { mode: 0o644, flag: 'wx' });
    });
  }

  async expiry(): Promise<string | null> {
    const r = await this.run(this.paths.openssl, ['x509', '-noout', '-enddate', '-in', this.paths.certFile], { timeoutMs: 30_000 });
    return r.code === 0 ? parseOpensslEndDate(r.stdout) : null;
  }

  /** `write` fills a private directory with key.pem and cert.pem; they are then linked into place (key first), never over a file. */
  private async staged(write: (dir: string) => Promise<void>): Promise<void> {
    const certDir = dirname(this.paths.certFile);
    await mkdir(certDir, { recursive: true, mode: 0o755 });
    await mkdir(dirname(this.paths.keyFile), { recursive: true, mode: 0o755 });
    const dir = await mkdtemp(join(certDir, '.new-'));
    try {
      await write(dir);
      await chmod(join(dir, 'key.pem'), 0o600);
      await chmod(join(dir, 'cert.pem'), 0o644);
      await this.place(join(dir, 'key.pem'), this.paths.keyFile);
      try {
        await this.place(join(dir, 'cert.pem'), this.paths.certFile);
      } catch (e) {
        await unlink(this.paths.keyFile).catch(() => undefined);
        throw e;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async place(from: string, to: string): Promise<void> {
    await link(from, to).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw new DiycloudError('Conflict', `${to} appeared meanwhile: left as it is`);
      throw new DiycloudError('BackendFailed', `cannot put ${to} in place: ${e.code ?? e.message}`);
    });
  }
}

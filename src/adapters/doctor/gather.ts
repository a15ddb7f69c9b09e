// Reads the facts diycloudctl doctor judges: the config, cgroupfs, quota paths, the hook, PAM files, the unit and the daemon.

import { accessSync, constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { parseConfig, type Config } from '../../core/config';
import { DOCTOR_PATHS, PAM_MODULE_DIRS, type CgroupfsFact, type ConfigFact, type DaemonFact, type DoctorFacts, type FileFact, type QuotaFact, type UnitFact } from '../../core/doctor';
import type { GpuInventory } from '../../core/gpu';
import { parseLoginDefs } from '../../core/ini';
import { probeCgroupfs, type CgroupfsProbe } from '../cgroupfs/hierarchy';
import type { RunFn } from '../exec/program-runner';
import { runProgram } from '../exec/run-program';
import { mountPointOf, probeQuotaPath } from '../quota/probe';
import { isMissing, systemQuotaDeps, type QuotaDeps } from '../quota/quota-deps';

/** systemctl's place differs between merged-/usr and older layouts: the first that exists is used. */
export const SYSTEMCTL_PATHS = ['/usr/bin/systemctl', '/bin/systemctl'] as const;

export interface GatherDeps {
  readonly configPath: string;
  readonly loginDefsPath: string;
  readonly run: RunFn;
  readonly quota: QuotaDeps;
  /** /run/systemd/system: exists only when systemd is PID 1 (sd_booted()). */
  readonly systemdRunDir: string;
  readonly probeCgroups: () => CgroupfsProbe;
  /** Whether a mount point is read-only (a write would fail with EROFS). */
  readonly readOnlyMount: (path: string) => boolean;
  /** Asks diycloudd for its Version and Backend properties; rejects when it does not answer. */
  readonly daemon: () => Promise<{ version: string; backend: string; gpus?: GpuInventory }>;
  /** Reads a text file; null when it does not exist (other errors throw). */
  readText(path: string): Promise<string | null>;
  statFile(path: string): Promise<FileFact | null>;
  isExecutable(path: string): Promise<boolean>;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isMissing(e)) return null;
    throw e;
  }
}

/** The real host; `daemon` is the only part with no default (the CLI passes its bus client). */
export function systemGatherDeps(configPath: string, daemon: GatherDeps['daemon']): GatherDeps {
  return {
    configPath,
    loginDefsPath: '/etc/login.defs',
    run: runProgram,
    quota: systemQuotaDeps(runProgram),
    systemdRunDir: '/run/systemd/system',
    probeCgroups: () => probeCgroupfs(),
    readOnlyMount,
    daemon,
    readText,
    statFile: async (p) => {
      try {
        const s = await stat(p);
        return { isFile: s.isFile(), mode: s.mode, uid: s.uid };
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    isExecutable: (p) => access(p, constants.X_OK).then(() => true, () => false),
  };
}

/** The config as the daemon would load it; when it is unusable, the defaults (so the other checks still run). */
async function gatherConfig(d: GatherDeps): Promise<{ fact: ConfigFact; config: Config }> {
  const loginDefs = parseLoginDefs((await d.readText(d.loginDefsPath)) ?? '');
  const defaults = (): Config => parseConfig('', loginDefs, d.configPath);
  let text: string | null;
  try {
    text = await d.readText(d.configPath);
  } catch (e) {
    return { fact: { path: d.configPath, state: 'invalid', error: `${d.configPath} cannot be read: ${(e as Error).message}` }, config: defaults() };
  }
  if (text === null) return { fact: { path: d.configPath, state: 'missing', error: null }, config: defaults() };
  try {
    return { fact: { path: d.configPath, state: 'valid', error: null }, config: parseConfig(text, loginDefs, d.configPath) };
  } catch (e) {
    return { fact: { path: d.configPath, state: 'invalid', error: (e as Error).message }, config: defaults() };
  }
}

function cgroupfsFact(p: CgroupfsProbe, readOnlyMount: (path: string) => boolean): CgroupfsFact {
  if (p.version === 'v1') {
    const [cpuMount, memoryMount] = [p.hierarchies.cpu.mountPoint, p.hierarchies.memory.mountPoint];
    return { version: 'v1', cpuMount, memoryMount, readOnly: readOnlyMount(cpuMount) || readOnlyMount(memoryMount) };
  }
  if (p.version === 'v2') return { version: 'v2', mountPoint: p.mountPoint, controllers: p.controllers, readOnly: readOnlyMount(p.mountPoint) };
  return { version: null, reason: p.reason };
}

/** Whether a write to the mount would fail with EROFS (any other answer, EACCES for a plain user among them, says nothing). */
function readOnlyMount(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/** One fact per configured path; the default is the mount point of the filesystem holding /home, as the daemon picks it. */
async function gatherQuota(paths: readonly string[] | null, deps: QuotaDeps): Promise<QuotaFact[]> {
  let list: readonly string[];
  if (paths === null) {
    try {
      list = [await mountPointOf('/home', deps)];
    } catch (e) {
      return [{ path: '/home', error: (e as Error).message }];
    }
  } else list = paths;
  const out: QuotaFact[] = [];
  for (const path of list) {
    try {
      out.push({ path, status: await probeQuotaPath(path, deps) });
    } catch (e) {
      out.push({ path, error: (e as Error).message });
    }
  }
  return out;
}

/** `systemctl is-enabled|is-active diycloudd`: their first stdout line ("not-found" when they print none, as for a missing unit). */
async function gatherUnit(d: GatherDeps): Promise<UnitFact | null> {
  let systemctl: string | undefined;
  for (const p of SYSTEMCTL_PATHS) if (await d.isExecutable(p)) { systemctl = p; break; }
  if (systemctl === undefined) return null;
  const ask = async (verb: 'is-enabled' | 'is-active'): Promise<string> => {
    // These verbs exit non-zero for "disabled" and "inactive": the answer is on stdout either way.
    const r = await d.run(systemctl!, [verb, '--', `${DOCTOR_PATHS.unit}.service`], { timeoutMs: 10_000 }).catch((e: unknown) => e as Error);
    if (r instanceof Error) return `unknown (${r.message})`;
    return r.stdout.trim().split('\n')[0] || 'not-found';
  };
  const [enabled, active] = [await ask('is-enabled'), await ask('is-active')];
  return { enabled, active };
}

async function gatherDaemon(d: GatherDeps): Promise<DaemonFact> {
  try {
    return await d.daemon();
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** pam_diycloud.so in the first PAM module directory that holds it. */
async function findModule(d: GatherDeps): Promise<DoctorFacts['module']> {
  for (const dir of PAM_MODULE_DIRS) {
    const path = `${dir}/${DOCTOR_PATHS.module}`;
    const file = await d.statFile(path);
    if (file) return { path, file };
  }
  return null;
}

export async function gatherFacts(d: GatherDeps): Promise<DoctorFacts> {
  const { fact: config, config: cfg } = await gatherConfig(d);
  const systemdBooted = (await d.statFile(d.systemdRunDir)) !== null;
  const [account, session] = [await d.readText(DOCTOR_PATHS.pamAccount), await d.readText(DOCTOR_PATHS.pamSession)];
  return {
    config,
    cgroupChoice: cfg.backend.cgroups,
    systemdBooted,
    cgroupfs: cgroupfsFact(d.probeCgroups(), d.readOnlyMount),
    quotaPaths: cfg.quota.paths,
    quota: await gatherQuota(cfg.quota.paths, d.quota),
    hook: await d.statFile(DOCTOR_PATHS.hook),
    module: await findModule(d),
    pam: { profile: (await d.statFile(DOCTOR_PATHS.pamProfile)) !== null, account, session },
    unit: systemdBooted ? await gatherUnit(d) : null,
    daemon: await gatherDaemon(d),
  };
}

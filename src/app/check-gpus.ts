// A GPU grant in a write (SetLimits, SetProfile, CreateUser) must name GPUs this host has.

import { DiycloudError } from '../core/errors';
import { grantProblem, parseGpuGrant } from '../core/gpu-grant';
import type { RawOverrides } from '../core/ports';
import type { AppDeps } from './deps';

/**
 * InvalidArgument (field gpu) when the patch grants GPUs that are not present, or any GPU on a host
 * without GPUs; nothing is written before this passes. Stored grants are not re-checked at login: a
 * GPU that disappears (driver unloaded) just opens nothing (core/device-rules.ts).
 */
export function checkGpuPatch(deps: Pick<AppDeps, 'gpus'>, patch: Partial<RawOverrides>): void {
  if (patch.gpu === undefined || patch.gpu === null) return;
  const problem = grantProblem(parseGpuGrant(patch.gpu), deps.gpus().devices.map((d) => d.index));
  if (problem) throw new DiycloudError('InvalidArgument', `limits.gpu: ${problem}`, { field: 'gpu' });
}

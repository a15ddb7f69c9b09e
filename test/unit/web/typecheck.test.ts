// The front end type-checks (web/tsconfig.json: DOM, Preact JSX); the root tsc does not cover web/.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('web/ passes tsc --noEmit', () => {
  const root = join(__dirname, '..', '..', '..');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  let out = '';
  try { execFileSync(process.execPath, [tsc, '-p', join(root, 'web', 'tsconfig.json'), '--noEmit'], { cwd: root, encoding: 'utf8' }); } catch (e) { out = String((e as { stdout?: string }).stdout ?? e); }
  expect(out).toBe('');
}, 60_000);

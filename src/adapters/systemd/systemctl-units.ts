// UnitControl through systemctl(1): is-enabled/is-active, enable --now, disable --now, reload, start.

import { DiycloudError } from '../../core/errors';
import type { UnitControl, UnitState } from '../../core/web-portal';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export const SYSTEMCTL = '/usr/bin/systemctl';

/** is-enabled and is-active exit non-zero for "disabled" and "inactive": their answer is the first stdout line ("not-found" when none, as for a missing unit). */
export class SystemctlUnits implements UnitControl {
  constructor(private readonly systemctl: string = SYSTEMCTL, private readonly run: RunFn = runProgram) {}

  async state(unit: string): Promise<UnitState> {
    const ask = async (verb: 'is-enabled' | 'is-active'): Promise<string> => {
      const r = await this.run(this.systemctl, [verb, '--', unit]);
      return r.stdout.trim().split('\n')[0] || (verb === 'is-enabled' ? 'not-found' : 'unknown');
    };
    return { enabled: await ask('is-enabled'), active: await ask('is-active') };
  }

  enableNow(unit: string): Promise<void> {
    return this.change(['enable', '--now', '--', unit]);
  }

  disableNow(unit: string): Promise<void> {
    return this.change(['disable', '--now', '--', unit]);
  }

  reload(unit: string): Promise<void> {
    return this.change(['reload', '--', unit]);
  }

  start(unit: string): Promise<void> {
    return this.change(['start', '--', unit]);
  }

  private async change(args: string[]): Promise<void> {
    const r = await this.run(this.systemctl, args, { timeoutMs: 90_000 });
    if (r.code !== 0) {
      const unit = args[args.length - 1];
      throw new DiycloudError('BackendFailed', `systemctl ${args.filter((a) => a !== '--').join(' ')} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}; journalctl -u ${unit} -b says more`);
    }
  }
}

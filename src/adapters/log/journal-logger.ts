// Logger that writes "<N>"-prefixed lines to stderr, which journald files with their priority.

import type { Logger } from '../../core/ports';

/**
 * Under a systemd unit, stderr goes to journald, which reads a leading "<N>" (syslog priority) on
 * each line. This is why we do not use the npm "systemd-journald" package: it silently drops
 * messages when no journald runs (see docs/architecture.md). Fields are appended as key=value.
 * Newlines in messages are escaped so one event is one journal line.
 */
export function createJournalLogger(opts: { debug?: boolean; write?: (line: string) => void } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const emit = (prio: number, msg: string, fields?: Record<string, unknown>): void => {
    let line = `<${prio}>${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
    }
    write(line.replace(/\r?\n/g, '\\n') + '\n');
  };
  return {
    debug: (m, f) => opts.debug && emit(7, m, f),
    info: (m, f) => emit(6, m, f),
    warn: (m, f) => emit(4, m, f),
    error: (m, f) => emit(3, m, f),
  };
}

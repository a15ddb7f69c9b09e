#!/usr/bin/env node
// diycloudctl: the command-line client of diycloudd. Parses the command line, runs one command, exits.

import { CommanderError } from 'commander';
import { buildProgram } from './cli/program';
import { describeFailure } from './cli/errors';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram(require('../../package.json').version as string);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander has printed the message
    const { message, exitCode } = describeFailure(e);
    process.stderr.write(`diycloudctl: ${message}\n`);
    return exitCode;
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`diycloudctl: ${String(e)}\n`);
    process.exit(1);
  },
);

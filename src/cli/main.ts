#!/usr/bin/env node
/**
 * `rollout`: start, watch and steer phased rollouts. Exit codes: 0 done, 1 operation failed or refused,
 * 2 usage or validation error (nothing was started or changed).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { CliError, exitCodes } from './errors.js';
import { registerVerbs } from './verbs.js';

// The same relative path from src/cli (tsx) and dist/cli (built).
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('rollout')
  .description('Roll Helm charts and operators across Kubernetes clusters in canary order, on Temporal.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

// Each verb registers itself with its own options; its action returns what to print and the exit code.
// Only the verb being run is loaded (see verbs.ts).
await registerVerbs(program, process.argv.slice(2));

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : exitCodes.usage;
  } else if (err instanceof CliError) {
    console.error(err.message);
    process.exitCode = err.exitCode;
  } else {
    console.error(`rollout: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = exitCodes.failed;
  }
}

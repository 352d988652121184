#!/usr/bin/env node
/**
 * `rollout`: start, watch and steer phased rollouts. Exit codes: 0 done, 1 operation failed or refused,
 * 2 usage or validation error (nothing was started or changed).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerCodec } from './codec.js';
import { registerControls } from './controls.js';
import { registerDiff } from './diff.js';
import { registerFleet } from './fleet.js';
import { registerRegistry } from './registry.js';
import { registerList } from './list.js';
import { registerLocks } from './locks.js';
import { CliError, exitCodes } from './shared.js';
import { registerSetup } from './setup.js';
import { registerStart } from './start.js';
import { registerStatus } from './status.js';
import { registerValidate } from './validate.js';
import { registerWatch } from './watch.js';

// The same relative path from src/cli (tsx) and dist/cli (built).
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('rollout')
  .description('Roll Helm charts and operators across Kubernetes clusters in canary order, on Temporal.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

// Each verb registers itself with its own options; its action returns what to print and the exit code.
for (const register of [
  registerValidate,
  registerStart,
  registerStatus,
  registerWatch,
  registerControls,
  registerDiff,
  registerFleet,
  registerRegistry,
  registerList,
  registerLocks,
  registerSetup,
  registerCodec,
]) {
  register(program);
}

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

#!/usr/bin/env node
/**
 * `rollout`: start, watch and steer phased rollouts. Exit codes: 0 done, 1 operation failed or refused,
 * 2 usage or validation error (nothing was started or changed).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import {
  abortCommand,
  acceptCommand,
  approveCommand,
  pauseCommand,
  resumeCommand,
  retryCommand,
  rollbackCommand,
  skipCommand,
} from './controls.js';
import { devCommand } from './dev.js';
import { listCommand } from './list.js';
import { asOption, commentOption, listableStates, parse } from './options.js';
import { CliError, exitCodes } from './shared.js';
import { startCommand } from './start.js';
import { statusCommand } from './status.js';
import { validateCommand } from './validate.js';
import { watchCommand } from './watch.js';

// The same relative path from src/cli (tsx) and dist/cli (built).
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('rollout')
  .description('Roll Helm charts and operators across Kubernetes clusters in canary order, on Temporal.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

/** Runs a verb; whatever exit code it returns becomes the process's. */
const run =
  <A extends unknown[]>(verb: (...args: A) => Promise<number | void> | number | void) =>
  async (...args: A) => {
    process.exitCode = (await verb(...args)) ?? exitCodes.ok;
  };

program
  .command('validate')
  .argument('<plan>', 'plan file')
  .description('check a plan and the files it names, and print the order it rolls in')
  .action(run(validateCommand));

program
  .command('start')
  .argument('<plan>', 'plan file')
  .description('start a rollout; waits until it holds its clusters, prints its workflow ID and Web UI link')
  .addOption(
    new Option('--chart-version <version>', "chart version to roll (default: the plan's)").argParser(parse.version),
  )
  .addOption(
    new Option('--operator-version <version>', "operator chart version to roll (default: the plan's)").argParser(
      parse.version,
    ),
  )
  .option('--id <workflowId>', 'workflow ID (default: rollout-<plan>-<chart version>)')
  .addOption(
    new Option('--wait <seconds>', 'how long to wait for a worker to pass preflight and take the locks')
      .argParser(parse.positiveNumber)
      .default(120),
  )
  .addOption(asOption())
  .action(run(startCommand));

program
  .command('status')
  .argument('<id>', 'rollout workflow ID')
  .description('show phases, clusters, current steps and decisions')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
  .action(run(statusCommand));

program
  .command('watch')
  .argument('<id>', 'rollout workflow ID')
  .description('follow a rollout until it ends or waits for a person')
  .addOption(new Option('--interval <seconds>', 'how often to look').argParser(parse.positiveNumber).default(1))
  .action(run(watchCommand));

program
  .command('approve')
  .argument('<id>', 'rollout workflow ID')
  .requiredOption('--phase <name>', 'phase to approve (a later phase may be approved early)')
  .addOption(asOption())
  .addOption(commentOption())
  .description('approve a phase gate')
  .action(run(approveCommand));

program
  .command('pause')
  .argument('<id>')
  .addOption(asOption())
  .addOption(commentOption())
  .description('start no new clusters until resumed')
  .action(run(pauseCommand));
program
  .command('resume')
  .argument('<id>')
  .addOption(asOption())
  .addOption(commentOption())
  .description('resume a paused rollout')
  .action(run(resumeCommand));
program
  .command('abort')
  .argument('<id>')
  .requiredOption('--reason <text>', 'why')
  .addOption(asOption())
  .description('stop the rollout: clusters in flight are cancelled and half-done ones restored; finished ones stay')
  .action(run(abortCommand));
program
  .command('rollback')
  .argument('<id>')
  .addOption(
    new Option('--scope <scope>', 'the phase in progress, or everything rolled so far')
      .choices(['phase', 'all'])
      .default('phase'),
  )
  .addOption(asOption())
  .addOption(commentOption())
  .description('roll clusters back to where they were, newest first')
  .action(run(rollbackCommand));
program
  .command('retry')
  .argument('<id>')
  .requiredOption('--cluster <name>', 'failed cluster to run again')
  .addOption(asOption())
  .addOption(commentOption())
  .description(
    'run a failed cluster again (steps already in place are skipped); while rolling back, roll it back again',
  )
  .action(run(retryCommand));
program
  .command('accept')
  .argument('<id>')
  .requiredOption('--cluster <name>', 'cluster whose rollback failed, to leave as it is')
  .addOption(asOption())
  .addOption(commentOption())
  .description('accept a cluster whose rollback could not finish as it is, so the rollout can end (say why with -m)')
  .action(run(acceptCommand));
program
  .command('skip')
  .argument('<id>')
  .requiredOption('--cluster <name>', 'failed cluster to leave as it is')
  .addOption(asOption())
  .addOption(commentOption())
  .description('leave a failed cluster and go on')
  .action(run(skipCommand));

program
  .command('list')
  .description('list rollouts by search attributes')
  .option('--plan <name>', 'only this plan')
  .addOption(new Option('--state <state>', 'only rollouts in this state').choices(listableStates))
  .addOption(new Option('--limit <n>', 'at most this many').argParser(parse.positiveInteger).default(20))
  .action(run(listCommand));

program
  .command('dev')
  .description('run a local Temporal dev server (Web UI on :8233) and a worker')
  .addOption(new Option('--port <port>', 'gRPC port').argParser(parse.port).default(7233))
  .addOption(new Option('--ui-port <port>', 'Web UI port').argParser(parse.port).default(8233))
  .option('--db-file <file>', 'keep server state in this SQLite file')
  .action(run(devCommand));

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

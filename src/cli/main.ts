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

const as = () => new Option('--as <name>', 'who is acting (default: $ROLLOUT_USER or the OS user)');
const comment = () => new Option('-m, --comment <text>', 'why, for the record');
let exitCode: number = exitCodes.ok;

program
  .command('validate')
  .argument('<plan>', 'plan file')
  .description('check a plan and print the order it rolls in')
  .action(validateCommand);

program
  .command('start')
  .argument('<plan>', 'plan file')
  .description('start a rollout; prints its workflow ID and Web UI link')
  .option('--chart-version <version>', "chart version to roll (default: the plan's)")
  .option('--operator-version <version>', "operator chart version to roll (default: the plan's)")
  .option('--id <workflowId>', 'workflow ID (default: rollout-<plan>-<chart version>)')
  .option('--wait <seconds>', 'how long to wait for a worker to pass preflight and take the locks', '120')
  .addOption(as())
  .action(startCommand);

program
  .command('status')
  .argument('<id>', 'rollout workflow ID')
  .description('show phases, clusters, current steps and decisions')
  .option('-o, --output <format>', 'table or json', 'table')
  .action(async (id: string, o: { output: string }) => {
    exitCode = await statusCommand(id, o);
  });

program
  .command('watch')
  .argument('<id>', 'rollout workflow ID')
  .description('follow a rollout until it ends or waits for a person')
  .option('--interval <seconds>', 'how often to look', '1')
  .action(async (id: string, o: { interval: string }) => {
    exitCode = await watchCommand(id, o);
  });

program
  .command('approve')
  .argument('<id>', 'rollout workflow ID')
  .requiredOption('--phase <name>', 'phase to approve (a later phase may be approved early)')
  .addOption(as())
  .addOption(comment())
  .description('approve a phase gate')
  .action(approveCommand);

program
  .command('pause')
  .argument('<id>')
  .addOption(as())
  .addOption(comment())
  .description('start no new clusters until resumed')
  .action(pauseCommand);
program
  .command('resume')
  .argument('<id>')
  .addOption(as())
  .addOption(comment())
  .description('resume a paused rollout')
  .action(resumeCommand);
program
  .command('abort')
  .argument('<id>')
  .requiredOption('--reason <text>', 'why')
  .addOption(as())
  .description('stop the rollout: clusters in flight are cancelled and half-done ones restored; finished ones stay')
  .action(abortCommand);
program
  .command('rollback')
  .argument('<id>')
  .option('--scope <scope>', 'phase (the phase in progress) or all (everything rolled so far)', 'phase')
  .addOption(as())
  .addOption(comment())
  .description('roll clusters back to where they were, newest first')
  .action(rollbackCommand);
program
  .command('retry')
  .argument('<id>')
  .requiredOption('--cluster <name>', 'failed cluster to run again')
  .addOption(as())
  .addOption(comment())
  .description(
    'run a failed cluster again (steps already in place are skipped); while rolling back, roll it back again',
  )
  .action(retryCommand);
program
  .command('accept')
  .argument('<id>')
  .requiredOption('--cluster <name>', 'cluster whose rollback failed, to leave as it is')
  .addOption(as())
  .addOption(comment())
  .description('accept a cluster whose rollback could not finish as it is, so the rollout can end (say why with -m)')
  .action(acceptCommand);
program
  .command('skip')
  .argument('<id>')
  .requiredOption('--cluster <name>', 'failed cluster to leave as it is')
  .addOption(as())
  .addOption(comment())
  .description('leave a failed cluster and go on')
  .action(skipCommand);

program
  .command('list')
  .description('list rollouts by search attributes')
  .option('--plan <name>', 'only this plan')
  .option('--state <state>', 'only this state (running, awaiting-approval, succeeded, ...)')
  .option('--limit <n>', 'at most this many', '20')
  .action(listCommand);

program
  .command('dev')
  .description('run a local Temporal dev server (Web UI on :8233) and a worker')
  .option('--port <port>', 'gRPC port', '7233')
  .option('--ui-port <port>', 'Web UI port', '8233')
  .option('--db-file <file>', 'keep server state in this SQLite file')
  .action(devCommand);

try {
  await program.parseAsync();
  process.exitCode = exitCode;
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

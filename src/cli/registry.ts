import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { readRegistry, registryStartOptions } from '../client/registries.js';
import {
  allowVersionUpdate,
  denyVersionUpdate,
  freezeUpdate,
  registryWorkflowId,
  unfreezeUpdate,
  type controlRegistry,
  type RegistryReply,
} from '../workflows/api.js';
import { asOption } from './options.js';
import { actor, CliError, withClient } from './shared.js';
import { table } from './table.js';
import { action, outputOption, type Outcome } from './verb.js';
import { WorkflowType } from '../domain/names.js';

/** Sends one change to the registry, starting it if it has never run (update-with-start). */
async function change<A extends object>(
  client: Client,
  taskQueue: string,
  def: typeof freezeUpdate | typeof unfreezeUpdate | typeof denyVersionUpdate | typeof allowVersionUpdate,
  args: A,
): Promise<RegistryReply> {
  const start = new WithStartWorkflowOperation<typeof controlRegistry>(
    WorkflowType.ControlRegistry,
    registryStartOptions(registryWorkflowId(taskQueue), taskQueue),
  );
  try {
    return await client.workflow.executeUpdateWithStart(def as never, {
      args: [args] as never,
      startWorkflowOperation: start,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}

export async function freezeCommand(o: { plan?: string; reason: string; as?: string }): Promise<Outcome> {
  const by = actor(o.as);
  return withClient(async (client, config) => {
    const { told, ...state } = await change(client, config.taskQueue, freezeUpdate, {
      plan: o.plan,
      reason: o.reason,
      by,
    });
    const what = o.plan ? `plan ${o.plan}` : 'every rollout';
    return {
      text: `froze ${what}: nothing new starts; ${told.length} running rollout(s) told: ${told.join(', ') || 'none'}`,
      data: { state, told },
    };
  });
}

export async function unfreezeCommand(o: { plan?: string; as?: string }): Promise<Outcome> {
  const by = actor(o.as);
  return withClient(async (client, config) => {
    // The registry tells the rollouts no other freeze still holds.
    const { told, ...state } = await change(client, config.taskQueue, unfreezeUpdate, { plan: o.plan, by });
    return {
      text: `lifted the freeze of ${o.plan ? `plan ${o.plan}` : 'everything'}; ${told.length} rollout(s) told`,
      data: { state, told },
    };
  });
}

/**
 * Marks a chart version bad (`deny`) or lifts the mark (`allow`) in the registry, which tells the running
 * rollouts of that version: they pause, or may be resumed again.
 */
function markVersion(
  def: typeof denyVersionUpdate | typeof allowVersionUpdate,
  done: (chart: string, version: string, told: string) => string,
) {
  return (chart: string, version: string, o: { reason: string; as?: string }) => {
    const by = actor(o.as);
    return withClient(async (client, config) => {
      const args = { chart, version, reason: o.reason, by };
      const { told, ...state } = await change(client, config.taskQueue, def, args);
      return { text: done(chart, version, told.join(', ') || 'none running'), data: { state, told } };
    });
  };
}

export const denyVersionCommand = markVersion(
  denyVersionUpdate,
  (chart, version, told) =>
    `marked ${chart} ${version} bad: it cannot be started; running rollouts of it pause (${told})`,
);

export const allowVersionCommand = markVersion(
  allowVersionUpdate,
  (chart, version, told) =>
    `lifted the bad mark of ${chart} ${version}: it may be started again, and its paused rollouts resumed (${told})`,
);

/** `rollout freezes`: the freezes and bad versions in force. */
export async function freezesCommand(): Promise<Outcome> {
  return withClient(async (client, config) => {
    const state = await readRegistry(client, registryWorkflowId(config.taskQueue));
    const rows = table(['kind', 'what', 'by', 'at', 'why']);
    for (const f of state.freezes)
      rows.push(['freeze', f.plan === '*' ? 'everything' : `plan ${f.plan}`, f.by, f.at, f.reason]);
    for (const d of state.denied) rows.push(['bad version', `${d.chart} ${d.version}`, d.by, d.at, d.reason]);
    const empty = state.freezes.length + state.denied.length === 0;
    return { text: empty ? 'no freeze and no bad version in force' : rows.toString(), data: state };
  });
}

export function registerRegistry(program: Command): void {
  program
    .command('freeze')
    .description("freeze every rollout (or one plan's): nothing new starts, running rollouts hold at their next step")
    .option('--plan <name>', "only this plan's rollouts")
    .requiredOption('--reason <text>', 'why')
    .addOption(asOption())
    .addOption(outputOption())
    .action(action(freezeCommand));
  program
    .command('unfreeze')
    .description('lift the freeze of everything (or of one plan)')
    .option('--plan <name>', "the freeze of this plan's rollouts")
    .addOption(asOption())
    .addOption(outputOption())
    .action(action(unfreezeCommand));
  program
    .command('deny-version')
    .argument('<chart>', 'chart name, e.g. express')
    .argument('<version>', 'chart version')
    .description('mark a chart version bad: it cannot be started again, and running rollouts of it pause')
    .requiredOption('--reason <text>', 'why')
    .addOption(asOption())
    .addOption(outputOption())
    .action(action(denyVersionCommand));
  program
    .command('allow-version')
    .argument('<chart>', 'chart name, e.g. express')
    .argument('<version>', 'chart version')
    .description('lift the bad mark of a chart version: it may be started, and its paused rollouts resumed, again')
    .requiredOption('--reason <text>', 'why')
    .addOption(asOption())
    .addOption(outputOption())
    .action(action(allowVersionCommand));
  program
    .command('freezes')
    .description('the freezes and bad versions in force')
    .addOption(outputOption())
    .action(action(freezesCommand));
}

import { table } from './table.js';
import { RolloutPhaseKey, RolloutPlanKey, RolloutStateKey, RolloutVersionsKey } from '../workflows/api.js';
import { Option, type Command } from 'commander';
import { shownState } from '../domain/display.js';
import { finalStates, type RolloutState } from '../domain/types.js';
import { listableStates, parse } from './options.js';
import { withClient } from './shared.js';
import { action, outputOption, type Outcome } from './verb.js';
import { WorkflowType } from '../domain/names.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list rollouts by search attributes, newest first')
    .option('--plan <name>', 'only this plan')
    .option('--with <name=version>', 'only rollouts rolling this version of this component, e.g. farmer=1.4.1')
    .addOption(new Option('--state <state>', 'only rollouts in this state').choices(listableStates))
    .addOption(new Option('--limit <n>', 'at most this many').argParser(parse.positiveInteger).default(20))
    .addOption(outputOption())
    .action(action(listCommand));
}

/** A value as a visibility query's string literal. */
export const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;

/** States only Temporal records: the rollout was closed from outside (terminate, timeout, cancel). */
const executionStates: Record<string, string> = {
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
  cancelled: 'Canceled',
};

/**
 * The visibility query for one state. A rollout's own RolloutState stays as it was when something outside
 * closed it, so a state the rollout is still in also requires a running execution, and "failed" includes
 * executions that failed without recording it.
 */
export function stateClause(state: string): string {
  const closed = executionStates[state];
  if (closed) return `ExecutionStatus = '${closed}'`;
  if (finalStates.includes(state as RolloutState)) {
    const own = `${RolloutStateKey.name} = ${quote(state)}`;
    return state === 'failed' ? `(${own} OR ExecutionStatus = 'Failed')` : own;
  }
  return `${RolloutStateKey.name} = ${quote(state)} AND ExecutionStatus = 'Running'`;
}

/** `rollout list`: rollouts by search attributes, newest first. */
export async function listCommand(opts: {
  plan?: string;
  state?: string;
  with?: string;
  limit: number;
}): Promise<Outcome> {
  // A rollout that continued as new is listed once, by its latest run.
  const clauses = [`WorkflowType = '${WorkflowType.Rollout}'`, `ExecutionStatus != 'ContinuedAsNew'`];
  if (opts.plan) clauses.push(`${RolloutPlanKey.name} = ${quote(opts.plan)}`);
  if (opts.state) clauses.push(stateClause(opts.state));
  if (opts.with) clauses.push(`${RolloutVersionsKey.name} = ${quote(opts.with)}`);
  const found = await withClient(async (client) => {
    const rollouts = [];
    for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
      const sa = wf.typedSearchAttributes;
      rollouts.push({
        id: wf.workflowId,
        plan: sa.get(RolloutPlanKey) ?? '',
        state: shownState(sa.get(RolloutStateKey) ?? wf.status.name.toLowerCase(), wf.status.name),
        phase: sa.get(RolloutPhaseKey) ?? '',
        versions: sa.get(RolloutVersionsKey) ?? [],
        startedAt: wf.startTime.toISOString(),
      });
      if (rollouts.length >= opts.limit) break;
    }
    return rollouts;
  });
  const rows = table(['id', 'plan', 'state', 'phase', 'versions', 'started']);
  for (const r of found) rows.push([r.id, r.plan, r.state, r.phase, r.versions.join(' '), r.startedAt]);
  return { text: found.length === 0 ? 'no rollouts found' : rows.toString(), data: found };
}

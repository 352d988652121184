import { table } from './table.js';
import {
  RolloutPhaseKey,
  RolloutPlanKey,
  RolloutStateKey,
  ChartVersionKey,
  OperatorVersionKey,
} from '../workflows/api.js';
import { finalStates, type RolloutState } from '../domain/types.js';
import { print, withClient } from './shared.js';

const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;

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

/** The state to show for a listed rollout: its own, unless Temporal closed it without the rollout saying so. */
function listedState(own: string | undefined, execution: string): string {
  const closed = execution !== 'RUNNING' && !finalStates.includes(own as RolloutState);
  if (!closed) return own ?? execution.toLowerCase();
  return execution === 'TIMED_OUT' ? 'timed-out' : execution.toLowerCase();
}

/** `rollout list`: rollouts by search attributes, newest first. */
export async function listCommand(opts: { plan?: string; state?: string; limit: number }): Promise<void> {
  const { limit } = opts;
  const clauses = [`WorkflowType = 'rollout'`];
  if (opts.plan) clauses.push(`${RolloutPlanKey.name} = ${quote(opts.plan)}`);
  if (opts.state) clauses.push(stateClause(opts.state));
  await withClient(async (client) => {
    const rows = table(['id', 'plan', 'state', 'phase', 'chart', 'operator', 'started']);
    let n = 0;
    for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
      const sa = wf.typedSearchAttributes;
      rows.push([
        wf.workflowId,
        sa.get(RolloutPlanKey) ?? '',
        listedState(sa.get(RolloutStateKey), wf.status.name),
        sa.get(RolloutPhaseKey) ?? '',
        sa.get(ChartVersionKey) ?? '',
        sa.get(OperatorVersionKey) ?? '',
        wf.startTime.toISOString(),
      ]);
      if (++n >= limit) break;
    }
    print(n === 0 ? 'no rollouts found' : rows.toString());
  });
}

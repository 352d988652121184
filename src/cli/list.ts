import Table from 'cli-table3';
import {
  RolloutPhaseKey,
  RolloutPlanKey,
  RolloutStateKey,
  ChartVersionKey,
  OperatorVersionKey,
} from '../workflows/search-attributes.js';
import { CliError, print, withClient } from './shared.js';

const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;

/** `rollout list`: rollouts by search attributes, newest first. */
export async function listCommand(opts: { plan?: string; state?: string; limit: string }): Promise<void> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive whole number`, 2);
  const clauses = [`WorkflowType = 'rollout'`];
  if (opts.plan) clauses.push(`${RolloutPlanKey.name} = ${quote(opts.plan)}`);
  if (opts.state) clauses.push(`${RolloutStateKey.name} = ${quote(opts.state)}`);
  await withClient(async (client) => {
    const table = new Table({
      head: ['id', 'plan', 'state', 'phase', 'chart', 'operator', 'started'],
      style: { head: [] },
    });
    let n = 0;
    for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
      const sa = wf.typedSearchAttributes;
      table.push([
        wf.workflowId,
        sa.get(RolloutPlanKey) ?? '',
        sa.get(RolloutStateKey) ?? wf.status.name.toLowerCase(),
        sa.get(RolloutPhaseKey) ?? '',
        sa.get(ChartVersionKey) ?? '',
        sa.get(OperatorVersionKey) ?? '',
        wf.startTime.toISOString(),
      ]);
      if (++n >= limit) break;
    }
    print(n === 0 ? 'no rollouts found' : table.toString());
  });
}

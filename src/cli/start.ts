import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { findLockHolder } from '../common/locks.js';
import { TypedSearchAttributes } from '@temporalio/common';
import type { RolloutInput } from '../domain/types.js';
import { Version } from '../plan/schema.js';
import { workflowUiLink } from '../common/temporal-config.js';
import { lockWorkflowId } from '../workflows/lock-id.js';
import { rolloutAttributes } from '../workflows/search-attributes.js';
import { actor, CliError, loadPlanFile, print, withClient } from './shared.js';

export interface StartOptions {
  chartVersion?: string;
  operatorVersion?: string;
  id?: string;
  as?: string;
}

/** `rollout start PLAN`: validates, checks no cluster is held by another rollout, starts, prints the ID and link. */
export async function startCommand(file: string, opts: StartOptions): Promise<void> {
  const { plan, baseDir } = loadPlanFile(file);
  for (const [flag, value] of [
    ['--chart-version', opts.chartVersion],
    ['--operator-version', opts.operatorVersion],
  ] as const) {
    if (value !== undefined && !Version.safeParse(value).success) {
      throw new CliError(`${flag} ${value}: must be a SemVer 2 version such as 1.4.2`, 2);
    }
  }
  const input: RolloutInput = {
    plan,
    baseDir,
    chartVersion: opts.chartVersion ?? plan.spec.release.chart.version,
    operatorVersion: opts.operatorVersion ?? plan.spec.release.operator.version,
    startedBy: actor(opts.as),
  };
  const workflowId = opts.id ?? `rollout-${plan.metadata.name}-${input.chartVersion}`;
  await withClient(async (client, config) => {
    await refuseHeldClusters(
      client,
      plan.spec.clusters.map((c) => c.name),
    );
    try {
      await client.workflow.start('rollout', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: new TypedSearchAttributes(rolloutAttributes(input, 'running')),
        staticSummary: `Roll ${plan.metadata.name}: chart ${input.chartVersion}, operator ${input.operatorVersion}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new CliError(`a rollout with ID ${workflowId} is already running; watch it, or pass --id`);
      }
      throw err;
    }
    print(`started ${workflowId}`);
    const link = workflowUiLink(config, workflowId);
    if (link) print(`web UI: ${link}`);
    print(`follow it: rollout watch ${workflowId}`);
  });
}

/**
 * Fails early, naming the holder, when another running rollout holds one of the clusters. The rollout
 * workflow takes the locks itself (atomically); this check only gives a person the answer before starting.
 */
async function refuseHeldClusters(client: Client, clusters: string[]): Promise<void> {
  const holders = await Promise.all(clusters.map((c) => findLockHolder(client, lockWorkflowId(c))));
  const held = clusters.flatMap((c, i) => (holders[i]?.holderRunning ? [`${c} (held by ${holders[i]?.holder})`] : []));
  if (held.length > 0) throw new CliError(`clusters already taken by another running rollout: ${held.join(', ')}`);
}

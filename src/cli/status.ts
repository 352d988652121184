import type { Client } from '@temporalio/client';
import { finalStates, type RolloutStatus } from '../domain/types.js';
import { progressQuery, statusQuery, type ClusterProgress } from '../workflows/definitions.js';
import { renderStatus } from './render.js';
import { CliError, print, withClient } from './shared.js';

/** The rollout's status, plus the live step of each cluster in flight (asked of the cluster workflows). */
export async function fetchStatus(
  client: Client,
  id: string,
): Promise<{ status: RolloutStatus; progress: Map<string, ClusterProgress> }> {
  let status: RolloutStatus;
  try {
    status = await client.workflow.getHandle(id).query(statusQuery);
  } catch (err) {
    throw new CliError(`cannot read rollout ${id}: ${(err as Error).message}`);
  }
  const progress = new Map<string, ClusterProgress>();
  await Promise.all(
    status.clusters
      .filter((c) => c.state === 'running' && c.workflowId)
      .map(async (c) => {
        try {
          progress.set(c.name, await client.workflow.getHandle(c.workflowId as string).query(progressQuery));
        } catch {
          // The cluster's workflow may have just finished; the rollout's own status covers it.
        }
      }),
  );
  return { status, progress };
}

/** `rollout status ID [-o table|json]`. Exit 0 unless the rollout ended other than succeeded. */
export async function statusCommand(id: string, opts: { output: string }): Promise<number> {
  if (opts.output !== 'table' && opts.output !== 'json') throw new CliError(`-o must be table or json`, 2);
  return withClient(async (client) => {
    const { status, progress } = await fetchStatus(client, id);
    if (opts.output === 'json') {
      print(
        JSON.stringify(
          { ...status, clusters: status.clusters.map((c) => ({ ...c, step: progress.get(c.name)?.step })) },
          null,
          2,
        ),
      );
    } else print(renderStatus(status, progress));
    return finalStates.includes(status.state) && status.state !== 'succeeded' ? 1 : 0;
  });
}

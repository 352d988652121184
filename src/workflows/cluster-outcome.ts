/**
 * How a cluster's workflow ended, recorded on the cluster the same way whichever run of the rollout
 * hears of it: the run that started it (its child's result), or a later run that took it over in flight
 * when the rollout continued as new (Temporal's record of the workflow, read by `followAdopted`).
 */
import { isCancellation } from '@temporalio/workflow';
import type { ClusterRunOutcome } from '../activities/contracts.js';
import { watching } from './activity-options.js';
import type { ClusterFailureDetails, ClusterRolloutResult } from './cluster-rollout.js';
import { failureDetails, rootMessage } from './failures.js';
import type { RolloutRun } from './rollout-run.js';

/** A cluster workflow's end: its result, a cancellation, or a failure with where it stopped. */
export type ClusterEnd =
  | { completed: ClusterRolloutResult }
  | { cancelled: true }
  | { failed: { message: string; details?: ClusterFailureDetails } };

/** The end a child's failure (or cancellation) says. */
export function endOfFailure(err: unknown): ClusterEnd {
  if (isCancellation(err)) return { cancelled: true };
  return { failed: { message: rootMessage(err), details: failureDetails<ClusterFailureDetails>(err) } };
}

/** The end Temporal recorded for a cluster workflow this run did not start. */
function endOfOutcome(o: ClusterRunOutcome): ClusterEnd {
  if (o.cancelled) return { cancelled: true };
  if (o.failed) {
    return { failed: { message: o.failed.message, details: o.failed.details as ClusterFailureDetails | undefined } };
  }
  return { completed: o.completed as ClusterRolloutResult };
}

/** Records a cluster workflow's end on the cluster: succeeded, failed (with step and analyses), cancelled or requeued. */
export function recordEnd(run: RolloutRun, cluster: string, end: ClusterEnd): void {
  if ('completed' in end) {
    run.apply({ kind: 'cluster-succeeded', cluster, ...end.completed });
    return;
  }
  if ('cancelled' in end) {
    run.apply({ kind: 'cluster-cancelled', cluster });
    return;
  }
  const details = end.failed.details;
  if (details?.fenced) {
    // Nothing was changed by the step the fence kept back: a stopping rollout restores what the cluster
    // did before; a paused or frozen one starts the cluster again later.
    run.apply({ kind: run.stop ? 'cluster-cancelled' : 'cluster-requeued', cluster });
    return;
  }
  run.apply({
    kind: 'cluster-failed',
    cluster,
    error: end.failed.message,
    failedStep: details?.failedStep,
    analyses: details?.analyses,
    inconclusive: details?.inconclusive,
  });
}

/**
 * The clusters this run took over in flight, followed until each has ended: a watch on the server for
 * the first of their workflows to close (an activity, at most five minutes at a time), its end recorded
 * on the cluster, then again for those left. Cancelling them (abort, rollback) is asking their workflows
 * by ID; their end then arrives here too.
 */
export async function followAdopted(run: RolloutRun): Promise<void> {
  for (let adopted = run.adoptedRuns(); adopted.length > 0; adopted = run.adoptedRuns()) {
    const byId = new Map(adopted.map((a) => [a.workflowId, a.cluster]));
    const ended = await watching.awaitClusterRuns({ workflowIds: [...byId.keys()] });
    for (const o of ended) {
      const cluster = byId.get(o.workflowId);
      if (cluster === undefined) continue;
      recordEnd(run, cluster, endOfOutcome(o));
      run.adoptedSettled(cluster);
    }
  }
}

import { condition, executeChild } from '@temporalio/workflow';
import type { ClusterStatus, RolloutState } from '../domain/types.js';
import { nowIso } from './clock.js';
import { clusterRollback } from './cluster-rollback.js';
import { rootMessage } from './cluster-rollout.js';
import type { RolloutRun } from './phase-runner.js';

/** Cancels in-flight cluster workflows and waits until each has settled. */
export async function drainInFlight(run: RolloutRun): Promise<void> {
  for (const scope of run.inFlight.values()) scope.cancel();
  await condition(() => run.inFlight.size === 0);
}

/**
 * Compensation: the given clusters (newest change first) back to their snapshots (chart, then operator,
 * then verify), one cluster at a time. A cluster whose rollback fails is recorded and the rest still roll
 * back: stopping halfway would leave more clusters on the bad version. Ends in `done`, or failed.
 */
export async function restoreClusters(
  run: RolloutRun,
  targets: () => ClusterStatus[],
  done: Extract<RolloutState, 'rolled-back' | 'aborted'>,
): Promise<void> {
  const { status, input } = run;
  status.state = 'rolling-back';
  run.publish();
  await drainInFlight(run);
  for (const c of targets()) {
    const snapshot = c.snapshot;
    if (!snapshot) continue;
    c.state = 'rolling-back';
    run.publish();
    try {
      await executeChild(clusterRollback, {
        workflowId: `${status.id}:${c.name}:rollback`,
        args: [
          {
            cluster: c.name,
            context: c.context,
            snapshot,
            operator: input.plan.spec.release.operator,
            chart: input.plan.spec.release.chart,
            verify: input.plan.spec.verify,
          },
        ],
      });
      c.state = 'rolled-back';
    } catch (err) {
      c.state = 'rollback-failed';
      c.error = `rollback failed: ${rootMessage(err)}`;
    }
    c.finishedAt = nowIso();
  }
  const touched = new Set(status.clusters.filter((c) => c.state.startsWith('roll')).map((c) => c.phase));
  for (const p of status.phases) {
    if (done === 'rolled-back' && touched.has(p.name)) p.state = 'rolled-back';
    else if (done === 'aborted' && p.state !== 'succeeded' && p.state !== 'pending') p.state = 'aborted';
  }
  const failures = status.clusters.filter((c) => c.state === 'rollback-failed');
  status.state = failures.length > 0 ? 'failed' : done;
  if (failures.length > 0)
    status.reason = `${status.reason ?? ''}; rollback failed on ${failures.map((c) => c.name).join(', ')}`;
}

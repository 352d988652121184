import { executeChild } from '@temporalio/workflow';
import type { ClusterState, ClusterStatus, RolloutState } from '../domain/types.js';
import { nowIso } from './clock.js';
import { clusterRollback } from './cluster-rollback.js';
import { rootMessage } from './failures.js';
import type { RolloutRun } from './rollout-run.js';

/** Cluster states that mean a rollback touched (or tried to touch) the cluster. */
const rollbackStates: readonly ClusterState[] = ['rolling-back', 'rolled-back', 'rollback-failed', 'accepted'];

/**
 * Compensation: the given clusters (newest change first) back to their snapshots (chart, then operator,
 * then verify), one cluster at a time. A cluster whose rollback fails is recorded and the rest still roll
 * back: stopping halfway would leave more clusters on the bad version. Then, while any rollback could not
 * finish, the rollout waits for a person: `retry` rolls that cluster back again, `accept` leaves it as it
 * is, recorded as a decision. The rollout never ends with a cluster half-done and nobody having said so.
 * Ends in `done`, or `failed` when a cluster was accepted as it is.
 */
export async function restoreClusters(
  run: RolloutRun,
  targets: () => ClusterStatus[],
  done: Extract<RolloutState, 'rolled-back' | 'aborted'>,
  reason: string,
): Promise<void> {
  const { status } = run;
  status.stopping = done === 'aborted' ? 'abort' : 'rollback';
  status.state = 'rolling-back';
  status.reason = reason;
  run.publish();
  await run.cancelInFlight();
  const list = targets().filter((c) => c.snapshot);
  for (const c of list) await rollBack(run, c);
  for (;;) {
    // A retry decision puts the cluster back to rolling-back; the loop is the only one that runs them.
    const again = list.filter((c) => c.state === 'rolling-back');
    if (again.length > 0) {
      status.state = 'rolling-back';
      status.reason = reason;
      run.publish();
      for (const c of again) await rollBack(run, c);
      continue;
    }
    const stuck = list.filter((c) => c.state === 'rollback-failed');
    if (stuck.length === 0) break;
    status.state = 'awaiting-decision';
    status.reason = `rollback could not finish on ${stuck.map((c) => `${c.name} (${c.error ?? 'failed'})`).join('; ')}; decide for each: rollout retry ${status.id} --cluster NAME (roll it back again) or rollout accept ${status.id} --cluster NAME -m WHY (leave it as it is)`;
    run.publish();
    run.notify({ type: 'waiting-for-decision', summary: status.reason });
    await run.nextChange(false);
  }
  const touched = new Set(status.clusters.filter((c) => rollbackStates.includes(c.state)).map((c) => c.phase));
  for (const p of status.phases) {
    if (done === 'rolled-back' && touched.has(p.name)) p.state = 'rolled-back';
    else if (done === 'aborted' && p.state !== 'succeeded' && p.state !== 'pending') p.state = 'aborted';
  }
  const unfinished = list.filter((c) => c.state === 'accepted' || c.state === 'rollback-failed');
  status.state = unfinished.length > 0 ? 'failed' : done;
  status.reason = reason;
  if (unfinished.length > 0) {
    status.reason += `; rollback did not finish on ${unfinished.map((c) => `${c.name} (${c.state})`).join(', ')}`;
  }
}

/** One attempt at rolling one cluster back, as a child workflow; its outcome is recorded on the cluster. */
async function rollBack(run: RolloutRun, c: ClusterStatus): Promise<void> {
  const { status, spec } = run;
  const snapshot = c.snapshot;
  if (!snapshot) return;
  c.rollbackAttempts = (c.rollbackAttempts ?? 0) + 1;
  const attempt = c.rollbackAttempts;
  // A previous rollback attempt's failure is history now; the failure that caused the rollback stays.
  if (c.rollbackError) c.error = c.rollbackError = undefined;
  c.state = 'rolling-back';
  c.workflowId = `${status.id}:${c.name}:rollback${attempt > 1 ? `:attempt-${attempt}` : ''}`;
  run.publish();
  try {
    await executeChild(clusterRollback, {
      workflowId: c.workflowId,
      args: [
        {
          cluster: c.name,
          context: c.context,
          snapshot,
          operator: spec.release.operator,
          chart: spec.release.chart,
          verify: spec.verify,
          rollbackTimeout: spec.onFailure.rollbackTimeout,
          rolloutId: status.id,
        },
      ],
    });
    c.state = 'rolled-back';
  } catch (err) {
    c.state = 'rollback-failed';
    c.error = c.rollbackError = `rollback failed: ${rootMessage(err)}`;
  }
  c.finishedAt = nowIso();
}

import { executeChild, workflowInfo } from '@temporalio/workflow';
import { launchRoom } from '../domain/progress.js';
import { ClusterState, type ClusterStatus, type RolloutState } from '../domain/types.js';
import { nowIso } from './clock.js';
import { clusterRollback } from './cluster-rollback.js';
import { rootMessage } from './failures.js';
import type { RolloutRun } from './rollout-run.js';

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
): Promise<'done' | 'continue'> {
  run.apply({ kind: 'restore-started', done, reason });
  await run.cancelInFlight();
  const list = targets().filter((c) => c.snapshot);
  for (const c of list) {
    // Past the run's history budget, the next run goes on (the stop is carried; the clusters restored
    // are no target any more).
    if (launchRoom(workflowInfo().historyLength, 0, run.input.historyBudget) === 0) return 'continue';
    await rollBack(run, c);
  }
  for (;;) {
    // A retry decision puts the cluster back to rolling-back; the loop is the only one that runs them.
    const again = list.filter((c) => c.state === 'rolling-back');
    if (again.length > 0) {
      run.apply({ kind: 'restore-started', done, reason });
      for (const c of again) await rollBack(run, c);
      continue;
    }
    const stuck = list.filter((c) => c.state === ClusterState.RollbackFailed);
    if (stuck.length === 0) break;
    run.apply({ kind: 'rollback-stuck', clusters: stuck.map((c) => c.name) });
    await run.nextChange(false);
  }
  run.apply({ kind: 'restored', done, reason, restored: list.map((c) => c.name) });
  return 'done';
}

/** One attempt at rolling one cluster back, as a child workflow; its outcome is recorded on the cluster. */
async function rollBack(run: RolloutRun, c: ClusterStatus): Promise<void> {
  const { status, spec } = run;
  const snapshot = c.snapshot;
  if (!snapshot) return;
  const attempt = (c.rollbackAttempts ?? 0) + 1;
  const workflowId = `${status.id}:${c.name}:rollback${attempt > 1 ? `:attempt-${attempt}` : ''}`;
  run.apply({ kind: 'rollback-started', cluster: c.name, workflowId });
  try {
    await executeChild(clusterRollback, {
      workflowId,
      args: [
        {
          cluster: c.name,
          context: c.context,
          snapshot,
          components: run.components,
          verify: spec.verify,
          rollbackTimeout: spec.onFailure.rollbackTimeout,
          rolloutId: status.id,
          planName: run.input.plan.metadata.name,
          source: run.input.source,
        },
      ],
    });
    run.apply({ kind: 'rollback-ended', cluster: c.name, at: nowIso() });
  } catch (err) {
    run.apply({ kind: 'rollback-ended', cluster: c.name, at: nowIso(), error: `rollback failed: ${rootMessage(err)}` });
  }
}

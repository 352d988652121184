import { condition, executeChild, workflowInfo } from '@temporalio/workflow';
import { launchRoom } from '../domain/progress.js';
import { ClusterState, type ClusterStatus, type RolloutState } from '../domain/types.js';
import { nowIso } from './clock.js';
import { clusterRollback } from './cluster-rollback.js';
import { clusterTaskQueue } from './definitions.js';
import { rootMessage } from './failures.js';
import type { RolloutRun } from './rollout-run.js';

/**
 * Compensation: the given clusters (newest change first) back to their snapshots (chart, then operator,
 * then verify), the rollout's own order reversed: phase by phase, the last phase first, each with at most
 * its maxParallel clusters at once (a wave of thousands rolled out 500 at a time goes back 500 at a time,
 * not one by one), newest first within a phase. A cluster whose rollback fails is recorded and the rest
 * still roll back: stopping halfway would leave more clusters on the bad version. Then, while any rollback could not
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
  // Past the run's history budget, the next run goes on (the stop is carried; the clusters restored are
  // no target any more).
  if ((await rollBackAll(run, list)) === 'continue') return 'continue';
  for (;;) {
    // A retry decision puts the cluster back to rolling-back; the loop is the only one that runs them.
    const again = list.filter((c) => c.state === 'rolling-back');
    if (again.length > 0) {
      run.apply({ kind: 'restore-started', done, reason });
      if ((await rollBackAll(run, again)) === 'continue') return 'continue';
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

/**
 * Rolls `list` (newest first) back phase by phase, as its clusters' phases come in the list, each phase
 * with at most its maxParallel at once. `continue` when the run's history budget leaves room for none
 * more and none is in flight: what is left is the next run's.
 */
async function rollBackAll(run: RolloutRun, list: readonly ClusterStatus[]): Promise<'done' | 'continue'> {
  let i = 0;
  while (i < list.length) {
    const phase = (list[i] as ClusterStatus).phase;
    let end = i;
    while (end < list.length && (list[end] as ClusterStatus).phase === phase) end++;
    const max = Math.max(1, run.status.phases.find((p) => p.name === phase)?.maxParallel ?? 1);
    let inFlight = 0;
    let finished = 0;
    for (;;) {
      const room = launchRoom(workflowInfo().historyLength, inFlight, run.input.historyBudget);
      const starting = list.slice(i, Math.min(end, i + Math.min(room, max - inFlight)));
      for (const c of starting) {
        inFlight++;
        void rollBack(run, c).finally(() => {
          inFlight--;
          finished++;
        });
      }
      i += starting.length;
      if (i >= end && inFlight === 0) break;
      if (inFlight === 0) return 'continue';
      const seen = finished;
      await condition(() => finished > seen);
    }
  }
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
      taskQueue: clusterTaskQueue(workflowInfo().taskQueue),
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

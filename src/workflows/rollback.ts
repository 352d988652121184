import { condition, executeChild } from '@temporalio/workflow';
import { rollbackTargets } from '../domain/progress.js';
import type { RollbackScope } from '../domain/types.js';
import { nowIso } from './clock.js';
import { clusterRollback } from './cluster-rollback.js';
import { rootMessage } from './cluster-rollout.js';
import type { RolloutRun } from './phase-runner.js';

/** Cancels in-flight cluster workflows and waits until each has settled. */
export async function drainInFlight(run: RolloutRun): Promise<void> {
  for (const { scope } of run.inFlight.values()) scope.cancel();
  await condition(() => run.inFlight.size === 0);
}

/**
 * Compensation: every cluster the rollout changed in scope, newest change first, back to its snapshot
 * (chart, then operator, then verify), one cluster at a time. A cluster whose rollback fails is recorded
 * and the rest still roll back: stopping halfway would leave more clusters on the bad version.
 */
export async function rollBack(run: RolloutRun, scope: RollbackScope): Promise<void> {
  const { status, input } = run;
  status.state = 'rolling-back';
  run.publish();
  await drainInFlight(run);
  const current = status.currentPhase ?? status.phases[0]?.name ?? '';
  for (const c of rollbackTargets(status, scope, current)) {
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
  for (const p of status.phases) if (touched.has(p.name)) p.state = 'rolled-back';
  const failures = status.clusters.filter((c) => c.state === 'rollback-failed');
  status.state = failures.length > 0 ? 'failed' : 'rolled-back';
  if (failures.length > 0)
    status.reason = `${status.reason ?? ''}; rollback failed on ${failures.map((c) => c.name).join(', ')}`;
}

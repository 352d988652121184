import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { abortTargets, initialStatus, rollbackTargets } from '../domain/progress.js';
import type { PhaseStatus, RolloutInput, RolloutResult } from '../domain/types.js';
import { quick } from './activity-options.js';
import { nowIso } from './clock.js';
import { clusterLock } from './cluster-lock.js';
import { releaseSignal } from './definitions.js';
import { lockWorkflowId } from './lock-id.js';
import { runPhase, type RolloutRun } from './phase-runner.js';
import { restoreClusters } from './rollback.js';
import { installControls } from './rollout-controls.js';
import {
  ChartVersionKey,
  OperatorVersionKey,
  RolloutPhaseKey,
  RolloutPlanKey,
  RolloutStateKey,
} from './search-attributes.js';

/**
 * A whole rollout: takes every cluster's lock, then walks the phases in order (approval gate, clusters,
 * bake), honours pause/abort/rollback at every wait, and ends by releasing the locks.
 */
export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const status = initialStatus(workflowInfo().workflowId, input, nowIso());
  const ctl = installControls(status, input.plan.spec.approvers);
  const run: RolloutRun = { input, status, ctl, inFlight: new Map(), seq: 0, publish: () => publish(run) };
  run.publish();

  const locks = await acquireLocks(status.clusters.map((c) => c.name));
  try {
    for (const phase of status.phases) {
      status.currentPhase = phase.name;
      if (!(await gate(run, phase)) || (await runPhase(run, phase)) === 'stop') break;
    }
    if (ctl.stop?.kind === 'rollback') {
      const { scope = 'phase', reason } = ctl.stop;
      status.reason = reason;
      const current = status.currentPhase ?? '';
      await restoreClusters(run, () => rollbackTargets(status, scope, current), 'rolled-back');
    } else if (ctl.stop?.kind === 'abort') {
      status.reason = ctl.stop.reason;
      await restoreClusters(run, () => abortTargets(status), 'aborted');
    } else {
      status.state = 'succeeded';
      status.reason = undefined;
    }
  } finally {
    await CancellationScope.nonCancellable(() => releaseLocks(locks));
  }
  status.finishedAt = nowIso();
  run.publish();
  await condition(allHandlersFinished);
  return {
    id: status.id,
    state: status.state,
    reason: status.reason,
    finishedAt: status.finishedAt,
    clusters: status.clusters.map(({ name, state, error }) => ({ name, state, error })),
  };
}

/** Waits for the phase's approval (unless auto) and for any pause to end. False when a stop came first. */
async function gate(run: RolloutRun, phase: PhaseStatus): Promise<boolean> {
  const { status, ctl } = run;
  if (phase.approval === 'required' && !phase.approvedBy) {
    phase.state = 'awaiting-approval';
    status.state = 'awaiting-approval';
    status.reason = `phase "${phase.name}" awaits approval (rollout approve ${status.id} --phase ${phase.name})`;
    run.publish();
    await condition(() => phase.approvedBy !== undefined || ctl.stop !== undefined);
  }
  await condition(() => !status.paused || ctl.stop !== undefined);
  if (ctl.stop) return false;
  status.state = 'running';
  status.reason = undefined;
  run.publish();
  return true;
}

async function acquireLocks(clusters: string[]): Promise<string[]> {
  const results = await Promise.allSettled(
    clusters.map((c) =>
      startChild(clusterLock, {
        workflowId: lockWorkflowId(c),
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      }),
    ),
  );
  const held = clusters.filter((_, i) => results[i]?.status === 'fulfilled').map(lockWorkflowId);
  const refused = clusters.filter((_, i) => results[i]?.status === 'rejected');
  if (refused.length === 0) return held;
  await releaseLocks(held);
  const other = results.find((r) => r.status === 'rejected')?.reason as unknown;
  if (!(other instanceof WorkflowExecutionAlreadyStartedError)) throw other;
  const holders = await Promise.all(
    refused.map(
      async (c) =>
        `${c} (held by ${(await quick.lockHolder({ lockWorkflowId: lockWorkflowId(c) })) ?? 'another rollout'})`,
    ),
  );
  throw ApplicationFailure.create({
    type: 'ClusterLocked',
    message: `clusters already taken by another running rollout: ${holders.join(', ')}`,
    nonRetryable: true,
  });
}

async function releaseLocks(lockIds: string[]): Promise<void> {
  await Promise.all(
    lockIds.map((id) =>
      getExternalWorkflowHandle(id)
        .signal(releaseSignal)
        .catch(() => undefined),
    ),
  );
}

/** Upserts the search attributes when they change (one history event each time) and the UI details always. */
function publish(run: RolloutRun): void {
  const { status, input } = run;
  const state = status.paused && !status.finishedAt ? 'paused' : status.state;
  const key = `${state}|${status.currentPhase ?? ''}`;
  if (key !== run.published) {
    run.published = key;
    upsertSearchAttributes([
      { key: RolloutPlanKey, value: input.plan.metadata.name },
      { key: RolloutStateKey, value: state },
      { key: RolloutPhaseKey, value: status.currentPhase ?? '' },
      { key: ChartVersionKey, value: input.chartVersion },
      { key: OperatorVersionKey, value: input.operatorVersion },
    ]);
  }
  const rows = status.phases.map((p) => `| ${p.name} | ${p.state} | ${clusterSummary(run, p.name)} |`);
  setCurrentDetails(
    [
      `**${state}**${status.reason ? `: ${status.reason}` : ''}`,
      '',
      '| phase | state | clusters |',
      '|---|---|---|',
      ...rows,
    ].join('\n'),
  );
}

/** Names and states for small phases, counts by state for large ones: the UI shows this on every poll. */
function clusterSummary(run: RolloutRun, phase: string): string {
  const mine = run.status.clusters.filter((c) => c.phase === phase);
  if (mine.length <= 10) return mine.map((c) => `${c.name}: ${c.state}`).join(', ');
  const counts = new Map<string, number>();
  for (const c of mine) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
}

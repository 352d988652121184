import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { displayState } from '../domain/display.js';
import { abortTargets, initialStatus, rollbackTargets } from '../domain/progress.js';
import type { PhaseStatus, RolloutInput, RolloutResult } from '../domain/types.js';
import { FailureType } from '../domain/failure-types.js';
import { activitiesFor, quick } from './activity-options.js';
import { nowIso } from './clock.js';
import { clusterLock } from './cluster-lock.js';
import { failureType, rootMessage } from './failures.js';
import { lockWorkflowId } from './lock-id.js';
import { runPhase, type RolloutRun } from './phase-runner.js';
import { restoreClusters } from './rollback.js';
import { installControls } from './rollout-controls.js';
import { rolloutAttributes } from './search-attributes.js';

/**
 * A whole rollout: checks the release (preflight), takes every cluster's lock, then walks the phases in
 * order (approval gate, clusters, bake), honours pause/abort/rollback at every wait. A rollout refused at
 * the start (preflight, or a cluster held by another rollout) says so in its status and search attributes
 * before it fails. Its locks are released when it closes.
 */
export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  // Rollouts recorded before preflight existed went straight to their locks and failed without a word.
  const honestStart = patched('preflight-and-honest-start');
  const status = initialStatus(workflowInfo().workflowId, input, nowIso());
  if (honestStart) status.state = 'starting';
  const ctl = installControls(status, input.plan.spec.approvers);
  const run: RolloutRun = { input, status, ctl, inFlight: new Map(), seq: 0, publish: () => publish(run) };
  run.publish();

  try {
    if (honestStart) await preflight(input);
    await acquireLocks(status.clusters.map((c) => c.name));
  } catch (err) {
    if (!honestStart) throw err;
    status.state = 'failed';
    status.reason = rootMessage(err);
    status.finishedAt = nowIso();
    ctl.startFailure = { type: failureType(err), message: status.reason };
    run.publish();
    await condition(allHandlersFinished);
    throw err;
  }
  if (honestStart) {
    status.locksHeldAt = nowIso();
    status.state = 'running';
  }
  for (const phase of status.phases) {
    status.currentPhase = phase.name;
    if (!(await gate(run, phase)) || (await runPhase(run, phase)) === 'stop') break;
  }
  if (ctl.stop?.kind === 'rollback') {
    const { scope = 'phase', reason } = ctl.stop;
    const current = status.currentPhase ?? '';
    await restoreClusters(run, () => rollbackTargets(status, scope, current), 'rolled-back', reason);
  } else if (ctl.stop?.kind === 'abort') {
    await restoreClusters(run, () => abortTargets(status), 'aborted', ctl.stop.reason);
  } else {
    status.state = 'succeeded';
    status.reason = undefined;
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

/** Checks on the worker, once, what would make the rollout fail on its first cluster; touches no cluster. */
async function preflight(input: RolloutInput): Promise<void> {
  const spec = input.plan.spec;
  await activitiesFor('10m').preflight({
    operator: spec.release.operator,
    chart: spec.release.chart,
    operatorVersion: input.operatorVersion,
    chartVersion: input.chartVersion,
    baseDir: input.baseDir,
    synchronizer: spec.synchronizer,
    clusters: spec.clusters.map((c) => ({ cluster: c.name, overlay: c.values })),
  });
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

/**
 * Takes every cluster's lock, atomically per cluster: the server refuses a second running workflow with a
 * lock's ID. Locks are children whose parent-close policy cancels them, so they are released when this
 * rollout closes, however it closes, at no cost to its history. A lock whose holder has just closed is
 * still being released: it is tried again for a few seconds before the rollout is refused.
 */
async function acquireLocks(clusters: string[]): Promise<void> {
  let wanted = clusters;
  for (let attempt = 1; ; attempt++) {
    const results = await Promise.allSettled(
      wanted.map((c) =>
        startChild(clusterLock, { workflowId: lockWorkflowId(c), parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL }),
      ),
    );
    const rejected = results.flatMap((r, i) =>
      r.status === 'rejected' ? [[wanted[i] as string, r.reason] as const] : [],
    );
    if (rejected.length === 0) return;
    const other = rejected.find(([, reason]) => !(reason instanceof WorkflowExecutionAlreadyStartedError));
    if (other) throw other[1];
    wanted = rejected.map(([c]) => c);
    const holders = await Promise.all(wanted.map((c) => quick.lockHolder({ lockWorkflowId: lockWorkflowId(c) })));
    const held = wanted.filter((_, i) => holders[i]?.holderRunning);
    if (held.length > 0 || attempt >= 10) {
      const names = wanted.map((c, i) => `${c} (held by ${holders[i]?.holder ?? 'another rollout'})`);
      throw ApplicationFailure.create({
        type: FailureType.ClusterLocked,
        message: `clusters already taken by another running rollout: ${names.join(', ')}`,
        nonRetryable: true,
      });
    }
    await sleep('1s');
  }
}

/** Upserts the search attributes when they change (one history event each time) and the UI details always. */
function publish(run: RolloutRun): void {
  const { status, input } = run;
  const { state } = displayState(status);
  const key = `${state}|${status.currentPhase ?? ''}`;
  if (key !== run.published) {
    run.published = key;
    upsertSearchAttributes(rolloutAttributes(input, state, status.currentPhase));
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

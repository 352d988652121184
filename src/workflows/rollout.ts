import type { PreflightResult } from '../activities/contracts.js';
import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../domain/failure-types.js';
import { registryWorkflowId } from './definitions.js';
import { abortTargets, rollbackTargets } from '../domain/progress.js';
import { releaseTarget, sourceRevision } from '../domain/source.js';
import { componentRolling, overlaysOf } from '../plan/components.js';
import { signatureMaxAgeMs, startMessage } from '../domain/approvals.js';
import { PhaseState, type RolloutInput, type RolloutResult } from '../domain/types.js';
import { activitiesFor, quick } from './activity-options.js';
import { nowIso } from './clock.js';
import { releaseClusters, takeClusters } from './cluster-locks.js';
import { failureType, rootMessage } from './failures.js';
import { gate } from './phase-gate.js';
import { runPhase } from './phase-runner.js';
import { restoreClusters } from './rollback.js';
import { installControls } from './rollout-controls.js';
import { RolloutRun } from './rollout-run.js';

/**
 * A whole rollout: checks the release (preflight), takes every cluster from the lock registry, then walks
 * the phases in order (approval gate, clusters, bake), honours pause/abort/rollback at every wait. A
 * rollout refused at the start (preflight, or a cluster held by another rollout) says so in its status
 * and search attributes before it fails. It gives its clusters back as it closes.
 */
export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const run = new RolloutRun(input, workflowInfo().workflowId);
  const { status } = run;
  installControls(run);
  run.publish();

  if (!run.resumed) await start(run);
  let end: WalkEnd;
  try {
    end = await walkPhases(run);
  } catch (err) {
    // However the walk ended (cancelled, failed), the clusters are no longer this rollout's.
    await releaseClusters();
    throw err;
  }
  if (end === 'continue') {
    // This run's history is at its budget: the next run goes on from here, holding the same clusters
    // (they are held by the rollout's first run ID, which every run of it shares).
    await run.notificationsStarted();
    await condition(allHandlersFinished);
    return await continueAsNew<typeof rollout>(run.carry());
  }
  await releaseClusters();
  run.apply({ kind: 'closed', at: nowIso() });
  await run.notificationsStarted();
  await condition(allHandlersFinished);
  return {
    id: status.id,
    state: status.state,
    reason: status.reason,
    finishedAt: status.finishedAt,
    clusters: status.clusters.map(({ name, state, error }) => ({ name, state, error })),
  };
}

/**
 * The start of a rollout's first run: its preflight, the registry's word (bad versions, freezes), a
 * signed start's check, and its clusters taken. Refused: says so in its status and search attributes,
 * gives back what it may have been granted, and fails.
 */
async function start(run: RolloutRun): Promise<void> {
  const { input, status } = run;
  try {
    const checked = await preflight(input);
    run.apply({ kind: 'preflight-passed', warnings: checked.warnings });
    if (input.plan.spec.approvals?.allowedSigners) await verifyInitiator(run);
    await checkRegistry(run);
    await takeClusters(status.clusters.map((c) => c.name));
  } catch (err) {
    run.refused({ type: failureType(err), message: rootMessage(err) });
    await run.notificationsStarted();
    // A take that failed on its way back (not a refusal) may have been granted.
    if (failureType(err) !== FailureType.ClusterLocked) await releaseClusters();
    await condition(allHandlersFinished);
    throw err;
  }
  run.apply({ kind: 'clusters-taken', at: nowIso() });
}

/** How the walk ended: the rollout is over, or it continues as a new run. */
type WalkEnd = 'over' | 'continue';

/**
 * The phases in order, then what a stop asked for (rollback, abort); sets the state they end in. A run
 * that resumes an earlier one's skips the phases done and goes on in the phase it had started (its gate
 * passed: not asked again).
 */
async function walkPhases(run: RolloutRun): Promise<WalkEnd> {
  const { status } = run;
  for (const phase of status.phases) {
    // A run that resumes a stop (asked for before it continued as new) goes straight to carrying it out.
    if (run.resumed && run.stop) break;
    if (phase.state === PhaseState.Succeeded) continue;
    // Started by an earlier run of this rollout (its gate passed then): it goes on where it was.
    if (!phase.startedAt) {
      run.apply({ kind: 'phase-entered', phase: phase.name });
      if (!(await gate(run, phase))) break;
    }
    const end = await runPhase(run, phase);
    if (end === 'continue') return 'continue';
    if (end === 'stop') break;
  }
  const stop = run.stop;
  if (stop?.kind === 'rollback') {
    const current = status.currentPhase ?? '';
    const scope = stop.scope ?? 'phase';
    const targets = () => rollbackTargets(status, scope, current);
    if ((await restoreClusters(run, targets, 'rolled-back', stop.reason)) === 'continue') return 'continue';
  } else if (stop?.kind === 'abort') {
    if ((await restoreClusters(run, () => abortTargets(status), 'aborted', stop.reason)) === 'continue') {
      return 'continue';
    }
  } else {
    run.apply({ kind: 'succeeded' });
  }
  return 'over';
}

/** Checks on the worker, once, what would make the rollout fail on its first cluster; changes no cluster. */
async function preflight(input: RolloutInput): Promise<PreflightResult> {
  const spec = input.plan.spec;
  const target = releaseTarget(input);
  const { components } = target;
  return activitiesFor('10m').preflight({
    ...target,
    synchronizer: spec.synchronizer,
    sinks: spec.notifications?.sinks ?? [],
    clusters: spec.clusters.map((c) => ({
      cluster: c.name,
      context: c.context,
      overlays: overlaysOf(c, components),
      labels: c.labels,
    })),
  });
}

/**
 * Refuses a chart version marked bad before anything is touched, and starts frozen when a freeze of
 * everything or of this plan is in force (the CLI tells running rollouts of later changes by signal).
 */
async function checkRegistry(run: RolloutRun): Promise<void> {
  const { input } = run;
  const registry = await quick.registryState({ registryId: registryWorkflowId(workflowInfo().taskQueue) });
  const bad = registry.denied.find((d) => componentRolling(run.components, input.versions, d.chart, d.version));
  if (bad) {
    throw ApplicationFailure.create({
      type: FailureType.VersionDenied,
      message: `chart ${bad.chart} ${bad.version} was marked bad by ${bad.by} (${bad.reason}); it cannot be started`,
      nonRetryable: true,
    });
  }
  const freeze = registry.freezes.find((f) => f.plan === '*' || f.plan === input.plan.metadata.name);
  if (freeze) {
    const frozen = `frozen by ${freeze.by}: ${freeze.reason} (rollout unfreeze${freeze.plan === '*' ? '' : ` --plan ${freeze.plan}`})`;
    run.apply({ kind: 'frozen', frozen });
  }
}

/**
 * Where the plan's approvals are signed, so is the start: the initiator's signature over this rollout, plan,
 * pinned source and versions must be fresh and verify for `startedBy` against the allowed signers, or the
 * rollout is refused before it touches anything. What `forbidInitiator` compares with is then proven.
 */
async function verifyInitiator(run: RolloutRun): Promise<void> {
  const { input, status } = run;
  const signers = input.plan.spec.approvals?.allowedSigners ?? '';
  const refuse = (why: string) =>
    ApplicationFailure.create({ type: FailureType.ApprovalRefused, message: why, nonRetryable: true });
  const sig = input.startSignature;
  if (!sig) {
    throw refuse(
      `this plan's approvals are signed, so its rollouts are started signed too: rollout start PLAN --as NAME --sign-with KEY`,
    );
  }
  // Fresh when the rollout was started (not when this check runs, which waits for the preflight).
  const age = workflowInfo().startTime.getTime() - Date.parse(sig.signedAt);
  if (!(Math.abs(age) <= signatureMaxAgeMs)) {
    throw refuse(
      `the start was signed at ${sig.signedAt}, not within ${signatureMaxAgeMs / 60_000} minutes of starting the rollout`,
    );
  }
  const message = startMessage({
    rollout: status.id,
    plan: input.plan.metadata.name,
    source: sourceRevision(input.source),
    versions: input.versions,
    by: input.startedBy,
    signedAt: sig.signedAt,
    nonce: sig.nonce ?? '',
  });
  if (!sig.nonce)
    throw refuse('the start signature names no nonce: sign the start with rollout start PLAN --sign-with KEY');
  const { valid, detail } = await quick.verifyApproval({
    source: input.source,
    allowedSigners: signers,
    principal: input.startedBy,
    message,
    signature: sig.signature,
  });
  if (!valid) throw refuse(`the start signature does not verify for ${input.startedBy} against ${signers}: ${detail}`);
  // A signature starts one run: a second run of the same ID presenting it (re-sent after the first closed)
  // finds its nonce taken. Kept until no run could accept the signature any more (its age, and a preflight).
  const { taskQueue, firstExecutionRunId } = workflowInfo();
  const claim = await quick.claimStart({
    registryId: registryWorkflowId(taskQueue),
    taskQueue,
    claim: {
      nonce: sig.nonce,
      rollout: status.id,
      runId: firstExecutionRunId,
      expiresAt: new Date(Date.parse(sig.signedAt) + 6 * signatureMaxAgeMs).toISOString(),
    },
  });
  if (!claim.granted) {
    throw refuse(
      `this signed start was used already, by run ${claim.by.runId} of ${claim.by.rollout}: a signature starts one run; ` +
        'sign a new start (rollout start PLAN --sign-with KEY)',
    );
  }
  run.apply({ kind: 'start-verified' });
}

import { condition } from '@temporalio/workflow';
import { voidedBecause } from '../domain/rollout-machine.js';
import type { PhaseStatus } from '../domain/types.js';
import { activitiesFor, diffDeadline } from './activity-options.js';
import { nowIso } from './clock.js';
import type { RolloutRun } from './rollout-run.js';
import { releaseTarget } from '../domain/source.js';

/** Waits for the phase's approval (unless auto) and for any pause to end. False when a stop came first. */
export async function gate(run: RolloutRun, phase: PhaseStatus): Promise<boolean> {
  if (phase.approval === 'required' && !(await approvedDiff(run, phase))) return false;
  await condition(() => !held(run) || run.stop !== undefined);
  if (run.stop) return false;
  run.apply({ kind: 'gate-passed' });
  return true;
}

/**
 * The gate of a phase that needs approval: its diff is computed for people to review, the approval records
 * the digest it approved, and right before the phase starts (after any pause or freeze, the last wait) the
 * diff is computed again. If it changed (someone changed a cluster by hand in between), the approval no
 * longer holds and the gate waits again, saying why. An approval given early, before the phase's diff existed, binds to the pinned source and
 * versions only, unless it named a digest. False when a stop came first.
 */
async function approvedDiff(run: RolloutRun, phase: PhaseStatus): Promise<boolean> {
  let why = '';
  // After a voided approval the diff just computed is the one to show: the status says why at once.
  let fresh = false;
  for (;;) {
    if (!phase.approvedBy) {
      if (!fresh || !phase.diff) run.apply({ kind: 'gate-diff', phase: phase.name, diff: await diffOf(run, phase) });
      fresh = false;
      run.apply({ kind: 'gate-waiting', phase: phase.name, why, approveCommand: approveCommand(run, phase) });
      await condition(() => phase.approvedBy !== undefined || run.stop !== undefined);
      if (run.stop) return false;
    }
    const approved = phase.approvedBy;
    // The last wait comes before the last diff: a pause or freeze (hours, perhaps) after the approval must
    // not open a window in which a cluster changes unseen between the diff and the phase's start.
    await condition(() => !held(run) || run.stop !== undefined);
    if (run.stop) return false;
    if (!approved?.digest) {
      if (!phase.diff) run.apply({ kind: 'gate-diff', phase: phase.name, diff: await diffOf(run, phase) });
      return true;
    }
    const now = await diffOf(run, phase);
    run.apply({ kind: 'gate-diff', phase: phase.name, diff: now });
    // Held again while the diff was computed: wait, then diff again.
    if (held(run)) continue;
    if (now.digest === approved.digest) return true;
    why = voidedBecause(approved.by, approved.digest, now.digest);
    run.apply({ kind: 'approval-voided', phase: phase.name, why, at: nowIso() });
    fresh = true;
  }
}

/** The command that approves the phase, with the signing key it needs where the plan's approvals are signed. */
function approveCommand(run: RolloutRun, phase: PhaseStatus): string {
  const sign = run.spec.approvals?.allowedSigners ? ' --sign-with KEY' : '';
  return `rollout approve ${run.status.id} --phase ${phase.name}${sign}`;
}

/** Whether a pause or a freeze holds the rollout: no phase starts while one does. */
function held(run: RolloutRun): boolean {
  return !!run.status.paused || !!run.status.frozen;
}

/** The phase's diff, computed on a worker; digests and summaries only, so history stays small. */
async function diffOf(run: RolloutRun, phase: PhaseStatus): Promise<NonNullable<PhaseStatus['diff']>> {
  const { input, spec } = run;
  const clusters = run.status.clusters.filter((c) => c.phase === phase.name);
  const diff = await activitiesFor(diffDeadline(clusters.length)).diffClusters({
    ...releaseTarget(input),
    clusters: clusters.map((c) => run.clusterReleases(c)),
    timeout: spec.verify.timeout,
  });
  return { ...diff, at: nowIso() };
}

import { condition } from '@temporalio/workflow';
import { diffLines, shortDigest } from '../domain/diff.js';
import type { PhaseStatus } from '../domain/types.js';
import { activitiesFor, diffDeadline } from './activity-options.js';
import { nowIso } from './clock.js';
import type { RolloutRun } from './rollout-run.js';
import { releaseTarget } from '../domain/source.js';

/** Waits for the phase's approval (unless auto) and for any pause to end. False when a stop came first. */
export async function gate(run: RolloutRun, phase: PhaseStatus): Promise<boolean> {
  const { status } = run;
  if (phase.approval === 'required' && !(await approvedDiff(run, phase))) return false;
  await condition(() => !held(run) || run.stop !== undefined);
  if (run.stop) return false;
  status.state = 'running';
  status.reason = undefined;
  run.publish();
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
  const { status } = run;
  let why = '';
  // After a voided approval the diff just computed is the one to show: the status says why at once.
  let fresh = false;
  for (;;) {
    if (!phase.approvedBy) {
      const diff = fresh && phase.diff ? phase.diff : await diffOf(run, phase);
      phase.diff = diff;
      fresh = false;
      phase.state = 'awaiting-approval';
      status.state = 'awaiting-approval';
      status.reason = `${why}phase "${phase.name}" awaits approval (${approveCommand(run, phase)}); ${diffLines(diff, 3).join('; ')}`;
      run.publish();
      run.notify({ type: 'approval-needed', phase: phase.name, summary: status.reason, diff });
      await condition(() => phase.approvedBy !== undefined || run.stop !== undefined);
      if (run.stop) return false;
    }
    const approved = phase.approvedBy;
    // The last wait comes before the last diff: a pause or freeze (hours, perhaps) after the approval must
    // not open a window in which a cluster changes unseen between the diff and the phase's start.
    await condition(() => !held(run) || run.stop !== undefined);
    if (run.stop) return false;
    if (!approved?.digest) {
      phase.diff ??= await diffOf(run, phase);
      return true;
    }
    const now = await diffOf(run, phase);
    phase.diff = now;
    // Held again while the diff was computed: wait, then diff again.
    if (held(run)) continue;
    if (now.digest === approved.digest) return true;
    why = `the diff changed since ${approved.by} approved it (${shortDigest(approved.digest)} -> ${shortDigest(now.digest)}), so that approval no longer holds: `;
    phase.approvedBy = undefined;
    phase.approvals = [];
    status.decisions.push({ kind: 'approval-void', by: 'rollout', at: nowIso(), phase: phase.name, comment: why });
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
  const overlays = new Map(spec.clusters.map((c) => [c.name, c.values]));
  const diff = await activitiesFor(diffDeadline(clusters.length)).diffClusters({
    ...releaseTarget(input),
    clusters: clusters.map((c) => ({ cluster: c.name, context: c.context, overlay: overlays.get(c.name) })),
    timeout: spec.verify.timeout,
  });
  return { ...diff, at: nowIso() };
}

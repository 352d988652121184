import { shortDigest } from './diff.js';
import { FailureType } from './failure-types.js';
import { finalStates, type PhaseStatus, type RollbackScope, type RolloutStatus } from './types.js';

/**
 * Validators for the rollout's controls. Each returns why a request is refused, or undefined when it is
 * accepted. They run in update validators, so the caller learns at once; nothing is recorded on refusal.
 * The approvers allow-list guards approve, resume, retry, skip and rollback; anyone may pause or abort,
 * since stopping the line must never wait for the right person.
 */
export interface Actor {
  by: string;
  comment?: string;
}

type Approvers = readonly string[] | undefined;

/**
 * How many of the clusters in flight a control's answer names with their steps (`-o json` lists them all).
 * Only these are asked for their step: asking each of 290 in flight held `pause`'s answer 12 s.
 */
export const inFlightNamed = 10;

function finished(status: RolloutStatus): string | undefined {
  return finalStates.includes(status.state) ? `rollout ${status.id} has already finished (${status.state})` : undefined;
}

function identified(by: string): string | undefined {
  return by.trim() ? undefined : 'say who you are (--as NAME)';
}

function allowed(by: string, approvers: Approvers): string | undefined {
  if (approvers && !approvers.includes(by)) return `${by} is not among the plan's approvers (${approvers.join(', ')})`;
  return identified(by);
}

function stopping(status: RolloutStatus): string | undefined {
  if (status.stopping) return `rollout ${status.id} is ${status.stopping === 'abort' ? 'aborting' : 'rolling back'}`;
  return status.state === 'rolling-back' ? `rollout ${status.id} is rolling back` : undefined;
}

export function refuseApprove(
  status: RolloutStatus,
  approvers: Approvers,
  req: Actor & { phase: string; digest?: string },
) {
  const phase = status.phases.find((p) => p.name === req.phase);
  if (!phase) return `unknown phase "${req.phase}"; phases: ${status.phases.map((p) => p.name).join(', ')}`;
  const stale =
    req.digest && phase.diff && req.digest !== phase.diff.digest
      ? `the diff of phase "${phase.name}" is now ${shortDigest(phase.diff.digest)}, not the ${shortDigest(req.digest)} you reviewed: look again (rollout diff ${status.id} --phase ${phase.name})`
      : undefined;
  return (
    finished(status) ??
    stopping(status) ??
    allowed(req.by, approvers) ??
    deniedVersion(status, 'approved') ??
    unrollable(status, phase) ??
    (phase.approval === 'auto' ? `phase "${phase.name}" does not require approval` : undefined) ??
    (phase.approvedBy ? `phase "${phase.name}" was already approved by ${phase.approvedBy.by}` : undefined) ??
    (phase.state !== 'pending' && phase.state !== 'awaiting-approval'
      ? `phase "${phase.name}" is ${phase.state}, not awaiting approval`
      : undefined) ??
    stale
  );
}

/**
 * A phase whose diff says the pinned files changed since the start cannot roll what the rollout was
 * started with: approving it would only upgrade operators and run synchronizers before the chart step
 * refuses. Refused, with the way out.
 */
function unrollable(status: RolloutStatus, phase: PhaseStatus): string | undefined {
  const changed = phase.diff?.groups.find((g) => g.errorType === FailureType.SourceChanged);
  if (!changed) return undefined;
  return (
    `phase "${phase.name}" cannot roll what rollout ${status.id} was started with: ${changed.error ?? 'its files changed'}; ` +
    `abort it (rollout abort ${status.id} --reason WHY) or roll it back, and start a new rollout from the files as they are now`
  );
}

export function refusePause(status: RolloutStatus, req: Actor) {
  return finished(status) ?? stopping(status) ?? identified(req.by) ?? (status.paused ? 'already paused' : undefined);
}

export function refuseResume(status: RolloutStatus, approvers: Approvers, req: Actor) {
  return (
    finished(status) ??
    allowed(req.by, approvers) ??
    (status.paused ? undefined : 'not paused') ??
    deniedVersion(status, 'resumed')
  );
}

/** A rollout of a version marked bad may be rolled back or aborted, never resumed or approved, until allowed. */
function deniedVersion(status: RolloutStatus, what: string): string | undefined {
  const d = status.denied;
  if (!d) return undefined;
  return (
    `chart ${d.chart} ${d.version} was marked bad by ${d.by} (${d.reason}): this rollout cannot be ${what}; ` +
    `roll it back or abort it, or lift the mark first (rollout allow-version ${d.chart} ${d.version} --reason WHY)`
  );
}

export function refuseAbort(status: RolloutStatus, req: Actor & { reason: string }) {
  return (
    finished(status) ??
    stopping(status) ??
    identified(req.by) ??
    (req.reason.trim() ? undefined : 'give a reason for aborting')
  );
}

export function refuseRollback(status: RolloutStatus, approvers: Approvers, req: Actor & { scope: RollbackScope }) {
  return (
    finished(status) ??
    stopping(status) ??
    allowed(req.by, approvers) ??
    (req.scope === 'phase' || req.scope === 'all'
      ? undefined
      : `scope must be "phase" or "all", not "${String(req.scope)}"`)
  );
}

/**
 * Retry and skip act on a failed cluster of the phase in progress. While the rollout restores clusters
 * (rollback or abort), retry acts on a cluster whose rollback failed, and rolls it back again.
 */
export function refuseClusterDecision(status: RolloutStatus, approvers: Approvers, req: Actor & { cluster: string }) {
  const cluster = status.clusters.find((c) => c.name === req.cluster);
  if (!cluster) return `unknown cluster "${req.cluster}"`;
  if (status.stopping && cluster.state === 'rollback-failed') return finished(status) ?? allowed(req.by, approvers);
  return (
    finished(status) ??
    stopping(status) ??
    allowed(req.by, approvers) ??
    (cluster.state === 'failed' ? undefined : `cluster "${cluster.name}" is ${cluster.state}, not failed`) ??
    (cluster.phase === status.currentPhase
      ? undefined
      : `cluster "${cluster.name}" belongs to phase "${cluster.phase}", not the phase in progress`)
  );
}

/** Accept acts on a cluster whose rollback failed: it stays as it is, and the rollout may end. */
export function refuseAccept(status: RolloutStatus, approvers: Approvers, req: Actor & { cluster: string }) {
  const cluster = status.clusters.find((c) => c.name === req.cluster);
  if (!cluster) return `unknown cluster "${req.cluster}"`;
  return (
    finished(status) ??
    allowed(req.by, approvers) ??
    (cluster.state === 'rollback-failed'
      ? undefined
      : `cluster "${cluster.name}" is ${cluster.state}; accept applies to a cluster whose rollback failed (skip leaves a failed cluster)`) ??
    (req.comment?.trim() ? undefined : 'say why the cluster may stay as it is (-m TEXT)')
  );
}

/** Override sets a deploy window of the plan aside for this rollout; an approver, with a reason. */
export function refuseOverrideWindow(
  status: RolloutStatus,
  approvers: Approvers,
  windows: readonly string[],
  req: Actor & { window: string },
) {
  return (
    finished(status) ??
    stopping(status) ??
    allowed(req.by, approvers) ??
    (windows.includes(req.window)
      ? undefined
      : `unknown window "${req.window}"; the plan's windows: ${windows.join(', ') || 'none'}`) ??
    (status.windowOverrides?.includes(req.window) ? `window "${req.window}" is already set aside` : undefined) ??
    (req.comment?.trim() ? undefined : 'say why the window may be set aside (-m TEXT)')
  );
}

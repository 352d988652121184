import { finalStates, type ClusterState, type ClusterStatus, type RolloutState, type RolloutStatus } from './types.js';

/**
 * How Temporal says a rollout's execution stands: RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT,
 * CANCELLED, CONTINUED_AS_NEW. A terminated or timed-out rollout cannot say so itself, so its status
 * (what the workflow last recorded) is read together with this.
 */
export interface ExecutionState {
  status: string;
  /** Why it closed, when Temporal knows (a termination's reason, a failure's message). */
  reason?: string;
}

/** The state a person (and a script) should see, and why: the one derivation the workflow and CLI share. */
export interface DisplayState {
  state: string;
  reason?: string;
  /** True when the rollout will not change any more. */
  final: boolean;
}

const closedBy: Record<string, string> = {
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed-out',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
};

/**
 * The state to show from a rollout's own recorded state and Temporal's execution status: its own, unless
 * Temporal closed it without the rollout recording an end (then terminated, timed-out, cancelled, failed).
 */
export function shownState(own: string, execution: string): string {
  const closed = execution !== 'RUNNING' && execution !== 'CONTINUED_AS_NEW';
  if (!closed || finalStates.includes(own as RolloutState)) return own;
  return closedBy[execution] ?? execution.toLowerCase();
}

/**
 * A rollout's display state: its own state, "paused" while paused, or how Temporal closed it when it
 * closed without recording an end itself (terminated, timed out, a failure the workflow did not catch).
 */
export function displayState(status: RolloutStatus, execution?: ExecutionState): DisplayState {
  const ownFinal = finalStates.includes(status.state);
  const state = execution ? shownState(status.state, execution.status) : status.state;
  if (state !== status.state) return { state, reason: execution?.reason ?? status.reason, final: true };
  if (status.frozen && !ownFinal) return { state: 'frozen', reason: status.frozen, final: false };
  if (status.paused && !ownFinal) return { state: 'paused', reason: status.reason, final: false };
  return { state: status.state, reason: status.reason, final: ownFinal };
}

/** Exit code for a rollout as seen: 0 running well or succeeded, 1 ended any other way. */
export function exitCodeFor(shown: DisplayState): number {
  return shown.final && shown.state !== 'succeeded' ? 1 : 0;
}

/** States in which the rollout will not move until a person acts: approve, decide, resume, unfreeze. */
const personStates = ['awaiting-approval', 'awaiting-decision', 'paused', 'frozen'];

/** True when the rollout, as seen, waits for a person (`rollout watch` exits 3 there). */
export function waitsForPerson(shown: DisplayState): boolean {
  return !shown.final && personStates.includes(shown.state);
}

/** Cluster states in the order people read counts in: what needs eyes first, then done, then to go. */
const countOrder: readonly ClusterState[] = [
  'rollback-failed',
  'failed',
  'rolling-back',
  'running',
  'rolled-back',
  'accepted',
  'skipped',
  'cancelled',
  'succeeded',
  'pending',
];

/** How many clusters are in each state, in `countOrder`, states with none left out: "480 succeeded, 20 running". */
export function stateCounts(clusters: readonly ClusterStatus[]): string {
  const counts: Partial<Record<ClusterState, number>> = {};
  for (const c of clusters) counts[c.state] = (counts[c.state] ?? 0) + 1;
  return countsByState(counts);
}

/** The same line from counts already made (a status page's, per phase). */
export function countsByState(counts: Partial<Record<ClusterState, number>>): string {
  return countOrder
    .filter((s) => counts[s])
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

/** A cluster a person watching a large rollout must see by name: in flight, failed, or held by a window. */
export function needsEyes(c: ClusterStatus): boolean {
  return ['running', 'rolling-back', 'failed', 'rollback-failed'].includes(c.state) || c.waitingFor !== undefined;
}

import { approvalsLine } from './approvals.js';
import { describeSource, primaryVersion, sourceRevision } from './source.js';
import { resolvePhases } from '../plan/resolve.js';
import { appliesTo, componentsOf } from '../plan/components.js';
import {
  RolloutState,
  type ClusterState,
  type ClusterStatus,
  type PhaseStatus,
  type RollbackScope,
  type RolloutInput,
  type RolloutStatus,
} from './types.js';

/** The state a rollout starts in: every phase pending, every cluster pending. */
export function initialStatus(id: string, input: RolloutInput, now: string): RolloutStatus {
  const phases = resolvePhases(input.plan);
  const specs = new Map(input.plan.spec.clusters.map((c) => [c.name, c]));
  const components = componentsOf(input.plan);
  // What a cluster does not get is known from the start, and shown, never silently left out.
  const notApplicable = (name: string) => {
    const labels = specs.get(name)?.labels ?? {};
    const skipped = components.filter((c) => !appliesTo(c, labels)).map((c) => c.name);
    return skipped.length > 0 ? { notApplicable: skipped } : {};
  };
  return {
    id,
    plan: input.plan.metadata.name,
    chartVersion: primaryVersion(input),
    versions: input.versions,
    state: RolloutState.Starting,
    paused: false,
    startedAt: now,
    startedBy: input.startedBy,
    phases: phases.map((p) => ({ ...p, state: 'pending' })),
    clusters: phases.flatMap((p) =>
      p.clusters.map((name) => ({
        name,
        context: specs.get(name)?.context ?? name,
        phase: p.name,
        state: 'pending',
        attempts: 0,
        ...notApplicable(name),
      })),
    ),
    decisions: [],
    source: describeSource(input.source),
    approvals: approvalsLine(input.plan.spec.approvals),
    sourceRevision: sourceRevision(input.source),
  };
}

export interface PhaseTally {
  pending: ClusterStatus[];
  running: number;
  failed: ClusterStatus[];
  /** running: clusters still to go; succeeded: all done within budget; over-budget: failures exceed maxFailures. */
  outcome: 'running' | 'succeeded' | 'over-budget';
}

/** Counts a phase's clusters and says where the phase stands against its failure budget. */
export function tallyPhase(
  status: RolloutStatus,
  phase: PhaseStatus,
  /** The phase's clusters, when the caller keeps them (a rollout tallies a phase at every change). */
  mine: readonly ClusterStatus[] = status.clusters.filter((c) => c.phase === phase.name),
): PhaseTally {
  const pending = mine.filter((c) => c.state === 'pending');
  const running = mine.filter((c) => c.state === 'running').length;
  const failed = mine.filter((c) => c.state === 'failed');
  const outcome =
    failed.length > phase.maxFailures ? 'over-budget' : pending.length + running === 0 ? 'succeeded' : 'running';
  return { pending, running, failed, outcome };
}

/**
 * Clusters of the phase to start now: none while paused or stopping, else pending ones in plan order
 * up to maxParallel in flight. A phase over its failure budget starts nothing more.
 */
export function clustersToStart(
  status: RolloutStatus,
  phase: PhaseStatus,
  /** Whether a pending cluster may start now (its deploy windows); those that may not stay pending. */
  mayStart: (c: ClusterStatus) => boolean = () => true,
  mine?: readonly ClusterStatus[],
): ClusterStatus[] {
  if (status.paused || status.frozen || status.state !== 'running') return [];
  const tally = tallyPhase(status, phase, mine);
  if (tally.outcome === 'over-budget') return [];
  return tally.pending.filter(mayStart).slice(0, Math.max(0, phase.maxParallel - tally.running));
}

/**
 * Clusters to roll back, newest change first: every cluster the rollout changed in the current phase
 * ("phase") or in every phase so far ("all"). Untouched and skipped clusters are left alone.
 */
export function rollbackTargets(status: RolloutStatus, scope: RollbackScope, currentPhase: string): ClusterStatus[] {
  return changedClusters(status, ['succeeded', 'failed', 'cancelled', 'rollback-failed']).filter(
    (c) => scope === 'all' || c.phase === currentPhase,
  );
}

/**
 * What an abort restores: clusters left half-done (failed or cancelled after their snapshot), newest
 * first, so no cluster stays between versions. Clusters that completed keep the new version.
 */
export function abortTargets(status: RolloutStatus): ClusterStatus[] {
  return changedClusters(status, ['failed', 'cancelled']);
}

/** Clusters in one of `states` that started changing and have a snapshot to return to, newest first. */
function changedClusters(status: RolloutStatus, states: readonly ClusterState[]): ClusterStatus[] {
  return status.clusters
    .filter((c) => c.seq !== undefined && c.snapshot !== undefined && states.includes(c.state))
    .sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0));
}

/**
 * A run's history budget, in events: under Temporal's warning line (10,240) with room for the end of a
 * phase (its bake, its summary) and the continue-as-new itself.
 */
export const historyBudget = 9_000;

/**
 * Events one cluster may cost its rollout's history, at most: its child's start, started and completed
 * events and its snapshot's marker (4), and a workflow task of 3 events for each of the two events the
 * server sends (started, completed) when none shares its task with another's. Under load they share: 4.5
 * a cluster was measured at 1,000 clusters. Counting fewer let a run of quick clusters pass its budget.
 */
export const eventsPerCluster = 10;

/**
 * The most clusters a rollout starts in one workflow task. Each takes its snapshot in the task that
 * starts it (a local activity, which keeps the task open), and Temporal answers a query only between
 * tasks: starting a wave's 500 at once held `rollout status` for 8 to 10 s. The next burst starts after
 * a 1 ms timer, in a task of its own.
 */
export const launchBurst = 50;

/**
 * How many more clusters this run may start before its history would pass `budget`: each cluster in
 * flight or started costs `eventsPerCluster`. At zero with none in flight, the run continues as new.
 */
export function launchRoom(historyLength: number, inFlight: number, budget = historyBudget): number {
  return Math.max(0, Math.floor((budget - historyLength) / eventsPerCluster) - inFlight);
}

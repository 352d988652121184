/**
 * Every change to a rollout's status, in one place: `transition(status, event)` applies one event to the
 * status and returns the notification it calls for, if any. The workflow keeps its one copy of the status
 * in `RolloutRun` and changes it only by `RolloutRun.apply`, which calls this; workflow files decide what to
 * schedule and what to wait for, never what the status says. The status is changed in place (the
 * workflow's only copy: copying a 1,000-cluster status on every event would cost more than it shows).
 *
 * What a person sees follows from the status (`displayState`), and the notification from the event.
 */
import { diffLines, shortDigest } from './diff.js';
import type { NotificationEvent } from './notification-events.js';
import {
  ClusterState,
  DecisionKind,
  PhaseState,
  RolloutState,
  type AnalysisRecord,
  type Approval,
  type ClusterSnapshot,
  type ClusterStatus,
  type Decision,
  type PhaseStatus,
  type ReleaseDiff,
  type RolloutStatus,
  type StepName,
} from './types.js';

/** What to tell the plan's notification sinks about an event. */
export interface Notice {
  type: NotificationEvent;
  summary: string;
  phase?: string;
  cluster?: string;
  diff?: ReleaseDiff;
}

/** One thing that happened to a rollout, as the workflow reports it (times by the workflow clock). */
export type RolloutChange =
  // The start
  | { kind: 'refused'; reason: string; at: string }
  | { kind: 'preflight-passed'; warnings: string[] }
  | { kind: 'clusters-taken'; at: string }
  | { kind: 'start-verified' }
  /** A freeze in force when the rollout started: nothing starts until it is lifted. */
  | { kind: 'frozen'; frozen: string }
  // Gates
  | { kind: 'phase-entered'; phase: string }
  | { kind: 'gate-diff'; phase: string; diff: ReleaseDiff & { at: string } }
  | { kind: 'gate-waiting'; phase: string; why: string; approveCommand: string }
  | { kind: 'approval-voided'; phase: string; why: string; at: string }
  | { kind: 'gate-passed' }
  // Phases and clusters
  | { kind: 'phase-started'; phase: string; at: string }
  | { kind: 'phase-succeeded'; phase: string; at: string }
  | { kind: 'decision-needed'; phase: string; failed: string }
  | { kind: 'decision-settled' }
  | { kind: 'cluster-started'; cluster: string; workflowId: string; seq: number; at: string }
  | { kind: 'snapshot-taken'; cluster: string; snapshot: ClusterSnapshot }
  | {
      kind: 'cluster-succeeded';
      cluster: string;
      skipped: StepName[];
      resumed?: StepName[];
      analyses?: AnalysisRecord[];
    }
  | { kind: 'cluster-cancelled'; cluster: string }
  /** The cluster's first change was fenced by a pause or freeze: it changed nothing and waits to start again. */
  | { kind: 'cluster-requeued'; cluster: string }
  | {
      kind: 'cluster-failed';
      cluster: string;
      error: string;
      failedStep?: StepName;
      analyses?: AnalysisRecord[];
      inconclusive?: boolean;
      /** Set when the failure came in a bake, after the cluster's own workflow had finished. */
      at?: string;
    }
  | { kind: 'cluster-settled'; cluster: string; at: string }
  | { kind: 'window-waits'; phase: string; waiting: { cluster: string; line?: string }[] }
  | { kind: 'bake-started'; phase: string; until: string }
  | { kind: 'bake-ended'; phase: string; records: { cluster: string; records: AnalysisRecord[] }[] }
  // Stops and rollbacks
  | { kind: 'restore-started'; done: 'rolled-back' | 'aborted'; reason: string }
  | { kind: 'rollback-started'; cluster: string; workflowId: string }
  | { kind: 'rollback-ended'; cluster: string; at: string; error?: string }
  | { kind: 'rollback-stuck'; clusters: string[] }
  | { kind: 'restored'; done: 'rolled-back' | 'aborted'; reason: string; restored: string[] }
  | { kind: 'succeeded' }
  | { kind: 'closed'; at: string }
  // What people decide (validated before: these only record and apply it)
  | { kind: 'decided'; decision: Decision; change?: DecisionChange };

/** What an accepted control changes besides recording the decision. */
export type DecisionChange =
  | { kind: 'freeze'; frozen?: string }
  | { kind: 'deny-version'; denied: NonNullable<RolloutStatus['denied']>; reason: string }
  | { kind: 'allow-version' }
  | { kind: 'approve'; approval: Approval; meetsPolicy: boolean }
  | { kind: 'override-window'; window: string }
  | { kind: 'pause' }
  | { kind: 'resume' }
  /** An abort or rollback: from now on no mutating step starts (the fence), and the main loop stops. */
  | { kind: 'stop'; stopping: 'abort' | 'rollback' }
  | { kind: 'retry'; cluster: string }
  | { kind: 'skip'; cluster: string }
  | { kind: 'accept'; cluster: string };

/** Cluster states that mean a rollback touched (or tried to touch) the cluster. */
const rollbackStates: readonly ClusterState[] = [
  ClusterState.RollingBack,
  ClusterState.RolledBack,
  ClusterState.RollbackFailed,
  ClusterState.Accepted,
];

const phaseOf = (s: RolloutStatus, name: string): PhaseStatus => {
  const p = s.phases.find((x) => x.name === name);
  if (!p) throw new Error(`no phase ${name} in rollout ${s.id}`);
  return p;
};

/**
 * Finds one of a rollout's clusters by name. By default a search of the list; the rollout passes an index
 * of its own (a phase of thousands of clusters applies an event per cluster step: a search each was
 * quadratic in the rollout's size).
 */
export type ClusterLookup = (name: string) => ClusterStatus | undefined;

/** Applies one event to the status; returns the notification it calls for, if any. */
export function transition(
  s: RolloutStatus,
  e: RolloutChange,
  lookup: ClusterLookup = (name) => s.clusters.find((x) => x.name === name),
): Notice | undefined {
  const clusterOf = (name: string): ClusterStatus => {
    const c = lookup(name);
    if (!c) throw new Error(`no cluster ${name} in rollout ${s.id}`);
    return c;
  };
  switch (e.kind) {
    case 'refused':
      Object.assign(s, { state: RolloutState.Failed, reason: e.reason, finishedAt: e.at });
      return { type: 'failed', summary: e.reason };
    case 'preflight-passed':
      s.warnings = e.warnings.length > 0 ? e.warnings : undefined;
      return undefined;
    case 'clusters-taken':
      Object.assign(s, { locksHeldAt: e.at, state: RolloutState.Running });
      return undefined;
    case 'start-verified':
      s.startedByVerified = true;
      return undefined;
    case 'frozen':
      s.frozen = e.frozen;
      return undefined;

    case 'phase-entered':
      s.currentPhase = e.phase;
      return undefined;
    case 'gate-diff':
      phaseOf(s, e.phase).diff = e.diff;
      return undefined;
    case 'gate-waiting': {
      const phase = phaseOf(s, e.phase);
      const warned = s.warnings?.length
        ? `; warning: ${s.warnings[0]}${s.warnings.length > 1 ? ` (and ${s.warnings.length - 1} more in status)` : ''}`
        : '';
      const lines = `${phase.diff ? `; ${diffLines(phase.diff, 3).join('; ')}` : ''}${warned}`;
      phase.state = PhaseState.AwaitingApproval;
      s.state = RolloutState.AwaitingApproval;
      s.reason = `${e.why}phase "${e.phase}" awaits approval (${e.approveCommand})${lines}`;
      return { type: 'approval-needed', phase: e.phase, summary: s.reason, diff: phase.diff };
    }
    case 'approval-voided': {
      const phase = phaseOf(s, e.phase);
      phase.approvedBy = undefined;
      phase.approvals = [];
      s.decisions.push({ kind: DecisionKind.ApprovalVoid, by: 'rollout', at: e.at, phase: e.phase, comment: e.why });
      return undefined;
    }
    case 'gate-passed':
      Object.assign(s, { state: RolloutState.Running, reason: undefined });
      return undefined;

    case 'phase-started': {
      const phase = phaseOf(s, e.phase);
      phase.state = PhaseState.Running;
      phase.startedAt ??= e.at;
      return undefined;
    }
    case 'phase-succeeded':
      Object.assign(phaseOf(s, e.phase), { state: PhaseState.Succeeded, finishedAt: e.at });
      return { type: 'phase-done', phase: e.phase, summary: `phase "${e.phase}" succeeded` };
    case 'decision-needed':
      if (s.state === RolloutState.AwaitingDecision) return undefined;
      s.state = RolloutState.AwaitingDecision;
      s.reason = `waiting for a decision (retry, skip, rollback or abort): ${e.failed}`;
      return { type: 'waiting-for-decision', phase: e.phase, summary: s.reason };
    case 'decision-settled':
      if (s.state === RolloutState.AwaitingDecision)
        Object.assign(s, { state: RolloutState.Running, reason: undefined });
      return undefined;
    case 'cluster-started': {
      const c = clusterOf(e.cluster);
      Object.assign(c, { state: ClusterState.Running, workflowId: e.workflowId, startedAt: e.at });
      c.attempts += 1;
      c.seq ??= e.seq;
      return undefined;
    }
    case 'snapshot-taken':
      clusterOf(e.cluster).snapshot ??= e.snapshot;
      return undefined;
    case 'cluster-succeeded':
      Object.assign(clusterOf(e.cluster), {
        // Finished after an abort was accepted while it was in flight: the abort cancels clusters in flight
        // and restores them, and one whose last step beat the cancellation is no exception.
        state: s.stopping === 'abort' ? ClusterState.Cancelled : ClusterState.Succeeded,
        skippedSteps: e.skipped,
        resumedSteps: e.resumed,
        analyses: e.analyses,
      });
      return undefined;
    case 'cluster-cancelled':
      clusterOf(e.cluster).state = ClusterState.Cancelled;
      return undefined;
    case 'cluster-requeued':
      clusterOf(e.cluster).state = ClusterState.Pending;
      return undefined;
    case 'cluster-failed': {
      const c = clusterOf(e.cluster);
      const bake = e.at !== undefined;
      Object.assign(c, {
        state: ClusterState.Failed,
        error: e.error,
        failedStep: e.failedStep,
        inconclusive: e.inconclusive,
        ...(bake ? { finishedAt: e.at } : { analyses: e.analyses }),
      });
      if (bake && e.analyses) addBakeRecords(c, e.analyses);
      return { type: 'cluster-failed', cluster: c.name, phase: c.phase, summary: `${c.name}: ${c.error}` };
    }
    case 'cluster-settled':
      clusterOf(e.cluster).finishedAt = e.at;
      return undefined;
    case 'window-waits':
      return windowWaits(s, e, clusterOf);
    case 'bake-started':
      Object.assign(phaseOf(s, e.phase), { state: PhaseState.Baking, bakeUntil: e.until });
      s.state = RolloutState.Baking;
      return undefined;
    case 'bake-ended':
      phaseOf(s, e.phase).state = PhaseState.Running;
      s.state = RolloutState.Running;
      for (const m of e.records) addBakeRecords(clusterOf(m.cluster), m.records);
      return undefined;

    case 'restore-started':
      Object.assign(s, {
        stopping: e.done === 'aborted' ? 'abort' : 'rollback',
        state: RolloutState.RollingBack,
        reason: e.reason,
      });
      return undefined;
    case 'rollback-started': {
      const c = clusterOf(e.cluster);
      c.rollbackAttempts = (c.rollbackAttempts ?? 0) + 1;
      // A previous rollback attempt's failure is history now; the failure that caused the rollback stays.
      if (c.rollbackError) c.error = c.rollbackError = undefined;
      Object.assign(c, { state: ClusterState.RollingBack, workflowId: e.workflowId });
      return undefined;
    }
    case 'rollback-ended': {
      const c = clusterOf(e.cluster);
      c.finishedAt = e.at;
      if (e.error === undefined) c.state = ClusterState.RolledBack;
      else Object.assign(c, { state: ClusterState.RollbackFailed, error: e.error, rollbackError: e.error });
      return undefined;
    }
    case 'rollback-stuck': {
      const stuck = e.clusters.map(clusterOf).map((c) => `${c.name} (${c.error ?? 'failed'})`);
      s.state = RolloutState.AwaitingDecision;
      s.reason = `rollback could not finish on ${stuck.join('; ')}; decide for each: rollout retry ${s.id} --cluster NAME (roll it back again) or rollout accept ${s.id} --cluster NAME -m WHY (leave it as it is)`;
      return { type: 'waiting-for-decision', summary: s.reason };
    }
    case 'restored':
      return restored(s, e);
    case 'succeeded':
      Object.assign(s, { state: RolloutState.Succeeded, reason: undefined });
      return undefined;
    case 'closed': {
      s.finishedAt = e.at;
      const end = s.state;
      const final = end === 'succeeded' || end === 'rolled-back' || end === 'aborted' || end === 'failed';
      return final ? { type: end, summary: s.reason ?? `rollout ${end}` } : undefined;
    }
    case 'decided':
      s.decisions.push(e.decision);
      if (e.change) decide(s, e.change);
      return undefined;
  }
}

/** What an accepted control changes. Its validator checked the request: a name it refers to exists. */
function decide(s: RolloutStatus, d: DecisionChange): void {
  const cluster = (name: string) => s.clusters.find((c) => c.name === name) ?? ({} as ClusterStatus);
  switch (d.kind) {
    case 'freeze':
      s.frozen = d.frozen;
      return;
    case 'deny-version':
      Object.assign(s, { paused: true, denied: d.denied, reason: d.reason });
      return;
    case 'allow-version':
      s.denied = undefined;
      return;
    case 'approve': {
      const phase = phaseOf(s, d.approval.phase);
      phase.approvals = [...(phase.approvals ?? []), d.approval];
      if (!d.meetsPolicy) return;
      phase.approvedBy = d.approval;
      // The gate it waited at is approved: the rollout no longer waits for a person while it checks the
      // phase's diff once more (a change since voids the approval, and it waits again, saying why).
      if (s.state === RolloutState.AwaitingApproval && s.currentPhase === phase.name) {
        s.state = RolloutState.Running;
        s.reason = `phase "${phase.name}" approved by ${d.approval.by}; its diff is checked once more before it starts`;
      }
      return;
    }
    case 'override-window':
      s.windowOverrides = [...(s.windowOverrides ?? []), d.window];
      return;
    case 'pause':
      s.paused = true;
      return;
    case 'resume':
      s.paused = false;
      return;
    case 'stop':
      s.stopping = d.stopping;
      return;
    case 'retry': {
      // While restoring, a retry rolls the cluster back again; otherwise it runs the cluster's rollout again.
      const c = cluster(d.cluster);
      if (c.state === ClusterState.RollbackFailed) c.state = ClusterState.RollingBack;
      else
        Object.assign(c, {
          state: ClusterState.Pending,
          error: undefined,
          failedStep: undefined,
          finishedAt: undefined,
        });
      return;
    }
    case 'skip':
      cluster(d.cluster).state = ClusterState.Skipped;
      return;
    case 'accept':
      cluster(d.cluster).state = ClusterState.Accepted;
      return;
  }
}

/**
 * Which pending clusters a deploy window holds back, and why: each says so, and while the rollout runs its
 * reason is the first such line (told once). When no cluster waits any more, a reason that was a window's
 * is cleared.
 */
function windowWaits(
  s: RolloutStatus,
  e: Extract<RolloutChange, { kind: 'window-waits' }>,
  clusterOf: (name: string) => ClusterStatus,
): Notice | undefined {
  for (const w of e.waiting) clusterOf(w.cluster).waitingFor = w.line;
  const line = e.waiting.find((w) => w.line)?.line;
  if (line && s.reason !== line && s.state === RolloutState.Running) {
    s.reason = s.windowReason = line;
    return { type: 'waiting-for-window', phase: e.phase, summary: line };
  }
  if (!line && s.windowReason !== undefined) {
    if (s.reason === s.windowReason) s.reason = undefined;
    s.windowReason = undefined;
  }
  return undefined;
}

/** The end of a rollback or abort: the phases it touched, and the state it ends in. */
function restored(s: RolloutStatus, e: Extract<RolloutChange, { kind: 'restored' }>): undefined {
  const touched = new Set(s.clusters.filter((c) => rollbackStates.includes(c.state)).map((c) => c.phase));
  for (const p of s.phases) {
    if (e.done === 'rolled-back' && touched.has(p.name)) p.state = PhaseState.RolledBack;
    // Its gate waited when the rollback was asked for: the phase never started, and nothing awaits now.
    else if (e.done === 'rolled-back' && p.state === PhaseState.AwaitingApproval) p.state = PhaseState.Pending;
    else if (e.done === 'aborted' && p.state !== PhaseState.Succeeded && p.state !== PhaseState.Pending) {
      p.state = PhaseState.Aborted;
    }
  }
  const restoredSet = new Set(e.restored);
  const unfinished = s.clusters.filter(
    (c) => restoredSet.has(c.name) && (c.state === ClusterState.Accepted || c.state === ClusterState.RollbackFailed),
  );
  s.state = unfinished.length > 0 ? RolloutState.Failed : e.done;
  s.reason = e.reason;
  if (unfinished.length > 0) {
    s.reason += `; rollback did not finish on ${unfinished.map((c) => `${c.name} (${c.state})`).join(', ')}`;
  }
  return undefined;
}

/** A bake's analysis records on the cluster's record, after its own, named `<name> (bake)`. */
function addBakeRecords(c: ClusterStatus, records: AnalysisRecord[]): void {
  c.analyses = [...(c.analyses ?? []), ...records.map((r) => ({ ...r, name: `${r.name} (bake)` }))];
}

/** Why an approval given at a gate no longer holds: the diff it approved changed. */
export function voidedBecause(by: string, approved: string, now: string): string {
  return `the diff changed since ${by} approved it (${shortDigest(approved)} -> ${shortDigest(now)}), so that approval no longer holds: `;
}

/**
 * The rollout's state as plain JSON: what the `status` query returns, what the CLI renders, and what the
 * domain functions decide on. No Date or class instances: Temporal carries it as JSON.
 */
import type { ResolvedPhase } from '../plan/resolve.js';
import type { ClusterSpec, RolloutPlan } from '../plan/schema.js';
import type { Component } from '../plan/components.js';

/**
 * Where the plan's files come from, pinned when the rollout starts and the same for every cluster, retry
 * and rollback: a commit of the config repository, or the plan's folder with the digest of every file it
 * references. Names only: credentials stay on the worker.
 */
export type PinnedSource =
  | {
      kind: 'git';
      /** The repository, as the plan names it (never with credentials in it). */
      url: string;
      /** The ref `rollout start` resolved, for people; the commit is what counts. */
      ref: string;
      commit: string;
      /** Folder inside the repository the plan's file references are relative to ("." for its root). */
      path: string;
      /** The worker's credential for the repository, by name (its secret and allowed URLs stay on the worker). */
      credential?: string;
    }
  | {
      kind: 'local';
      /** Folder the plan's relative file references are resolved against, on the worker's file system. */
      baseDir: string;
      /** Content digest of every file reference (as written in the plan) when the rollout started. */
      digests: Record<string, string>;
      /** One digest over all of them (sorted by reference), to compare and search rollouts by content. */
      digest: string;
    };

/**
 * What a rollout rolls, the same for every cluster, retry and rollback: where the files come from, the
 * release's components in order and the version of each. Every step that renders, upgrades, diffs or
 * reads a release takes it.
 */
export interface ReleaseTarget {
  /** The plan's name (Argo CD moves only the Applications handed to it). */
  planName?: string;
  source: PinnedSource;
  components: Component[];
  /** Every component's version, by component name. */
  versions: Record<string, string>;
}

/** A cluster's values overlay for each component that has one, by name, applied after its base values. */
export type Overlays = Record<string, string>;

/** What the workflow is given: the validated plan and the versions to roll. No credentials, only names. */
export interface RolloutInput {
  plan: RolloutPlan;
  /** Where the plan's files come from, pinned when it started: the same for every cluster, retry and rollback. */
  source: PinnedSource;
  /** Every component's version, by component name: the plan's, or those given at start (`--set`). */
  versions: Record<string, string>;
  /** Who started it, for the record. */
  startedBy: string;
  /**
   * With a plan whose approvals are signed: `startedBy`'s SSH signature over `startMessage(...)`, and when
   * it was made. The rollout verifies it before touching anything, so the initiator is proven, not claimed.
   * `nonce` (random, in the signed text) makes it good for one run: the control registry records it.
   */
  startSignature?: { signature: string; signedAt: string; nonce: string };
  /**
   * Set by the rollout itself when it continues as a new run (its history near its budget): where the
   * previous run stood. A rollout started with it resumes there: no preflight, no new locks.
   */
  carried?: CarriedRun;
  /** How many events one run's history may reach before it continues as new; historyBudget by default. */
  historyBudget?: number;
}

/** What a rollout's run hands to the next one when it continues as new. */
export interface CarriedRun {
  status: RolloutStatus;
  /** The run's counters: clusters started (their order), bakes, notifications sent. */
  started: number;
  bakes: number;
  notified: number;
  /** A stop people asked for that the run had not carried out yet. */
  stop?: StopRequest;
}

/** What people asked the rollout to do that its main loop must carry out. */
export interface StopRequest {
  kind: 'abort' | 'rollback';
  scope?: RollbackScope;
  reason: string;
}

/**
 * Where a whole rollout stands, as the workflow records it (see `displayState` for what people see: it
 * adds `paused` and `frozen`, which are flags on the status, not states).
 */
export const RolloutState = {
  /** Checking the release (preflight) and taking the clusters' locks; nothing is touched yet. */
  Starting: 'starting',
  Running: 'running',
  AwaitingApproval: 'awaiting-approval',
  Baking: 'baking',
  /** Failures beyond the phase's budget, or a rollback that could not finish: a person decides. */
  AwaitingDecision: 'awaiting-decision',
  RollingBack: 'rolling-back',
  Succeeded: 'succeeded',
  RolledBack: 'rolled-back',
  Aborted: 'aborted',
  Failed: 'failed',
} as const;
export type RolloutState = (typeof RolloutState)[keyof typeof RolloutState];

/** States a rollout ends in: nothing changes after them. */
export const finalStates: readonly RolloutState[] = ['succeeded', 'rolled-back', 'aborted', 'failed'];

/** Where one phase stands. */
export const PhaseState = {
  Pending: 'pending',
  AwaitingApproval: 'awaiting-approval',
  Running: 'running',
  Baking: 'baking',
  Succeeded: 'succeeded',
  Failed: 'failed',
  RolledBack: 'rolled-back',
  Aborted: 'aborted',
} as const;
export type PhaseState = (typeof PhaseState)[keyof typeof PhaseState];

/** Where one cluster stands in this rollout. */
export const ClusterState = {
  Pending: 'pending',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Skipped: 'skipped',
  Cancelled: 'cancelled',
  RollingBack: 'rolling-back',
  RolledBack: 'rolled-back',
  /** Its rollback could not finish (e.g. the cluster stayed unreachable); waits for a person's decision. */
  RollbackFailed: 'rollback-failed',
  /** A person accepted the cluster as it is after its rollback failed (recorded as a decision). */
  Accepted: 'accepted',
} as const;
export type ClusterState = (typeof ClusterState)[keyof typeof ClusterState];

/**
 * A cluster's steps: the snapshot (taken by the rollout, before the rest), then for each component in
 * order `upgrade-NAME` and `verify-NAME`, with the synchronizer's three steps before the component that
 * needs the cache, then the analyses.
 */
export const Step = {
  Snapshot: 'snapshot',
  RunSynchronizer: 'run-synchronizer',
  WaitCache: 'wait-cache',
  CleanupSynchronizer: 'cleanup-synchronizer',
  Analysis: 'analysis',
} as const;
export type StepName = (typeof Step)[keyof typeof Step] | `upgrade-${string}` | `verify-${string}`;
export const upgradeStep = (component: string): StepName => `upgrade-${component}`;
export const verifyStep = (component: string): StepName => `verify-${component}`;

/** Where a Helm release stood before the rollout touched it; null when it was not installed. */
export interface ReleaseSnapshot {
  revision: number;
  chartVersion: string;
  valuesDigest: string;
}

/** Where a cluster's releases stood before the rollout touched them, by component: what a rollback returns to. */
export interface ClusterSnapshot {
  releases: Record<string, ReleaseSnapshot | null>;
  takenAt: string;
}

/** One cluster of the rollout: its phase, state, attempts, snapshot, and why it failed. */
export interface ClusterStatus {
  name: string;
  context: string;
  phase: string;
  state: ClusterState;
  /** Order in which clusters started changing; rollback walks it backwards. */
  seq?: number;
  attempts: number;
  /** Workflow ID of the latest child run for this cluster, for its live `progress` query. */
  workflowId?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Step that failed, and why. */
  failedStep?: StepName;
  error?: string;
  snapshot?: ClusterSnapshot;
  /** Components this cluster does not get (their selector's labels do not match it), never touched. */
  notApplicable?: string[];
  /** Steps whose target was already in place, so nothing was changed. */
  skippedSteps?: StepName[];
  /** Steps this rollout had done in an attempt cut short (e.g. a worker crash), found done when resumed. */
  resumedSteps?: StepName[];
  /** The metric analyses run on this cluster: queries, measurements, outcomes. */
  analyses?: AnalysisRecord[];
  /** Its failure is an inconclusive analysis: the rollout waits for a person rather than rolling back. */
  inconclusive?: boolean;
  /** Set while a deploy window keeps the cluster from starting: which, and when it opens. */
  waitingFor?: string;
  /** Attempts at rolling this cluster back, and why the latest one failed. */
  rollbackAttempts?: number;
  rollbackError?: string;
}

/** Objects a release would add, change and remove on a cluster, counted by kind. */
export interface DiffSummary {
  added: Record<string, number>;
  changed: Record<string, number>;
  removed: Record<string, number>;
  /**
   * Objects whose only change is Helm's bookkeeping (the labels `helm.sh/chart` and
   * `app.kubernetes.io/version`, which every new chart version changes), counted apart from real changes.
   */
  relabelled?: Record<string, number>;
}

/** Clusters whose diffs are the same, with that diff's digest and summary. */
export interface DiffGroup {
  digest: string;
  /** The component this group's diff is of; unset for a cluster whose diff could not be had at all. */
  release?: string;
  clusters: string[];
  summary: DiffSummary;
  /** Set when the diff could not be had (the cluster did not answer, the chart did not render). */
  error?: string;
  /** The failure type of `error`, when it had one (SourceChanged: the pinned files changed since the start). */
  errorType?: string;
}

/** What a phase would change, grouped by diff; `digest` covers every cluster's and is what approvals bind to. */
export interface ReleaseDiff {
  digest: string;
  groups: DiffGroup[];
}

/** One measurement of a metric analysis. */
export interface Measurement {
  at: string;
  phase: 'successful' | 'failed' | 'inconclusive' | 'error';
  /** The first series' value, and (at most ten) every series' value. */
  value?: number;
  values?: number[];
  /** Why it could not be taken (the endpoint did not answer, the condition did not evaluate). */
  error?: string;
}

/** A metric analysis of one cluster: the query as run, every measurement, and the outcome. */
export interface AnalysisRecord {
  name: string;
  query: string;
  phase: 'running' | 'successful' | 'failed' | 'inconclusive';
  measurements: Measurement[];
  /** Why it ended as it did, for people. */
  message?: string;
}

/** Who approved a phase's gate, when and why, and the diff they approved. */
export interface Approval {
  phase: string;
  by: string;
  at: string;
  comment?: string;
  /** The phase diff's digest when approved; unset for an approval given before the phase's diff existed. */
  digest?: string;
  /** True when the approval was signed and the signature verified against the plan's allowed signers. */
  verified?: boolean;
}

/** One phase: its resolved clusters and settings, its state, and its approval. */
export interface PhaseStatus extends ResolvedPhase {
  state: PhaseState;
  startedAt?: string;
  finishedAt?: string;
  bakeUntil?: string;
  /** Set once the phase's approvals meet the plan's policy (possibly before it was reached): the last one. */
  approvedBy?: Approval;
  /** Every approval given so far (more than one where the plan asks for several people). */
  approvals?: Approval[];
  /** What the phase would change, computed at its gate (and again before it starts). */
  diff?: ReleaseDiff & { at: string };
}

/** What is recorded in a rollout's decisions: the controls people apply, and what the rollout records itself. */
export const DecisionKind = {
  Approve: 'approve',
  Pause: 'pause',
  Resume: 'resume',
  Abort: 'abort',
  Rollback: 'rollback',
  Retry: 'retry',
  Skip: 'skip',
  Accept: 'accept',
  /** Recorded by the rollout itself: an approval stopped holding because the diff it approved changed. */
  ApprovalVoid: 'approval-void',
  /** An approver set a deploy window aside for this rollout. */
  OverrideWindow: 'override-window',
  /** A freeze of everything or of this plan began, or ended. */
  Freeze: 'freeze',
  Unfreeze: 'unfreeze',
  /** The rollout's chart version was marked bad, or that mark was lifted (`rollout allow-version`). */
  DenyVersion: 'deny-version',
  AllowVersion: 'allow-version',
} as const;
export type DecisionKind = (typeof DecisionKind)[keyof typeof DecisionKind];

/** Every control a person applied, with who, when and why. */
export interface Decision {
  kind: DecisionKind;
  by: string;
  at: string;
  comment?: string;
  phase?: string;
  cluster?: string;
  scope?: RollbackScope;
  /** For an approval: the digest of the diff approved. */
  digest?: string;
  /** For a window override: the window set aside. */
  window?: string;
}

/** What a rollback restores: the phase in progress, or everything rolled so far. */
export type RollbackScope = 'phase' | 'all';

/** The whole rollout, as the `status` query returns it and the CLI renders it. */
export interface RolloutStatus {
  id: string;
  plan: string;
  /** The primary component's version (the product's chart): the rollout's ID, searches and deny marks use it. */
  chartVersion: string;
  /** Every component's version, by name, in the release's order. */
  versions: Record<string, string>;
  state: RolloutState;
  paused: boolean;
  currentPhase?: string;
  startedAt: string;
  startedBy: string;
  /**
   * This run's ID (its first run's, across continue-as-new). A signed approval names it, so a signature
   * given to one run is no approval of a later run under the same rollout ID.
   */
  runId?: string;
  /** True once the initiator's start signature verified against the plan's allowed signers. */
  startedByVerified?: boolean;
  /**
   * What preflight found worth a person's attention without refusing the start: a cluster that did not say
   * its version, CRDs left as they are under `crds: skip`. Shown by status and with a gate's reason.
   */
  warnings?: string[];
  finishedAt?: string;
  phases: PhaseStatus[];
  clusters: ClusterStatus[];
  decisions: Decision[];
  /** Why the rollout stopped, or what it is waiting on. */
  reason?: string;
  /** When it took the last of its clusters' locks; unset while starting, or when it was refused. */
  locksHeldAt?: string;
  /** Set once the rollout is restoring clusters (rollback or abort): only rollback decisions count then. */
  stopping?: 'rollback' | 'abort';
  /** Where the rollout's files come from, pinned at start: "URL at COMMIT (ref)", or the local folder. */
  source?: string;
  /** The commit of a git source, or "local:" and the start of the local files' digest. */
  sourceRevision?: string;
  /** Set while a freeze is in force for this rollout: who froze it and why. Nothing new starts meanwhile. */
  frozen?: string;
  /**
   * Set while the rollout's chart version is marked bad: it may be rolled back or aborted, never resumed
   * or approved, until the mark is lifted (`rollout allow-version`).
   */
  denied?: { chart: string; version: string; by: string; reason: string };
  /** How gates are approved, and whether approvers' names are verified (signatures) or as claimed. */
  approvals?: string;
  /** Deploy windows an approver set aside for this rollout (recorded as decisions too). */
  windowOverrides?: string[];
  /** The deploy window line `reason` shows while pending clusters wait for a window to open. */
  windowReason?: string;
}

/** What the rollout workflow returns when it ends. */
export type RolloutResult = Pick<RolloutStatus, 'id' | 'state' | 'reason' | 'finishedAt'> & {
  clusters: Pick<ClusterStatus, 'name' | 'state' | 'error'>[];
};

export type { ClusterSpec };

/**
 * What `rollout fleet` concludes of one cluster, worst first: it does not answer; a release failed or is
 * mid-operation; one is missing; it runs another version than the config source wants; other values; its
 * cache is not ready for the wanted version; or it is in sync.
 */
export type FleetVerdict =
  | 'unreachable'
  | 'failed'
  | 'pending'
  | 'missing'
  | 'version-drift'
  | 'values-drift'
  | 'out-of-sync'
  | 'cache-not-ready'
  | 'in-sync';

/** One release on one cluster: what the config source wants against what Helm says runs. */
export interface FleetRelease {
  desiredVersion: string;
  desiredValues: string;
  /** Unset when the release is not installed. */
  version?: string;
  revision?: number;
  status?: string;
  valuesDigest?: string;
  /** The rollout whose Helm revision this is (from the revision's description), when one made it. */
  changedBy?: string;
}

/** One cluster of the fleet: each component's release, its cache, and the verdict with the reasons for it. */
export interface FleetRow {
  cluster: string;
  /** By component name; a component the cluster does not get (its selector) is not there. */
  releases: Record<string, FleetRelease>;
  /** Whether the cache is ready for the wanted chart version (when the plan has a cache check). */
  cache?: { ready: boolean; observed: string };
  verdict: FleetVerdict;
  /** Why the verdict is not in-sync, one reason each. */
  reasons: string[];
}

/**
 * The fleet at a glance, as `rollout fleet` prints it and a scheduled drift check records it. As the
 * workflow returns it, `rows` are the clusters not in sync (at most `fleetRowsInResult`, worst first), so
 * the result stays small at any fleet size; every row is read in pages by the `fleet-page` query.
 */
export interface FleetReport {
  plan: string;
  /** The config source the desired state was read from. */
  source: string;
  at: string;
  counts: Partial<Record<FleetVerdict, number>>;
  /** How many clusters were read (every row, by the `fleet-page` query). */
  total: number;
  rows: FleetRow[];
}

/** A freeze in force: of everything ("*") or of one plan's rollouts. */
export interface Freeze {
  plan: string;
  reason: string;
  by: string;
  at: string;
}

/** A chart version marked bad: it cannot be started again, and running rollouts of it pause. */
export interface DeniedVersion {
  chart: string;
  version: string;
  reason: string;
  by: string;
  at: string;
}

/** What the registry keeps. */
export interface RegistryState {
  freezes: Freeze[];
  denied: DeniedVersion[];
}

/** A signed start's nonce, taken by the run that presented it first; kept until no run could present it. */
export interface StartClaim {
  nonce: string;
  rollout: string;
  runId: string;
  /** After this the signature is too old for any run to accept; the registry forgets the nonce. */
  expiresAt: string;
}

/** Whether the claim was granted (first use, or the same run asking again), and who holds it if not. */
export type StartClaimReply = { granted: true } | { granted: false; by: { rollout: string; runId: string } };

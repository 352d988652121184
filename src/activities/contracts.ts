/**
 * The activity contracts: what workflows may ask of the outside world. Inputs carry names (cluster, kube
 * context, release, file references into the pinned release source), never kubeconfig contents or tokens: the worker
 * resolves those from its own environment. Every activity is idempotent: a retry after a crash finds the
 * work already done and says so (`changed: false`) instead of doing it twice.
 */
import type {
  ClusterSnapshot,
  DiffGroup,
  FleetRow,
  Measurement,
  PinnedSource,
  ReleaseDiff,
  RegistryState,
  StartClaim,
  StartClaimReply,
  ReleaseSnapshot,
  Overlays,
  ReleaseTarget,
} from '../domain/types.js';

import type { RolloutEvent } from '../domain/notifications.js';
import type { Holding, LockOwner } from '../domain/locks.js';
import type {
  AnalysisTemplate,
  CacheSpec,
  NotificationSink,
  ReleaseSpec,
  SynchronizerSpec,
  VerifySpec,
} from '../plan/schema.js';

export interface VerifyApprovalInput {
  source: PinnedSource;
  /** The plan's allowed-signers file, read from the pinned source. */
  allowedSigners: string;
  /** Who claims to approve: must be a principal of the allowed-signers file whose key made the signature. */
  principal: string;
  message: string;
  /** The armored SSH signature (`ssh-keygen -Y sign` output). */
  signature: string;
}

/** One measurement of an analysis: the query, already templated for its cluster, and the template's rules. */
/** Which running rollouts a registry change concerns, and what to signal them. */
export interface TellRolloutsInput {
  taskQueue: string;
  /**
   * One plan's rollouts; every rollout on the task queue without it (a version marked bad: each rollout
   * tells whether one of its components rolls it).
   */
  to: { plan?: string };
  /** Rollouts of these plans are left alone (another freeze still holds them). */
  exceptPlans?: string[];
  signal: string;
  args: unknown;
}

export interface MeasureInput {
  address: string;
  query: string;
  template: AnalysisTemplate;
}

/** Which cluster to act on: the plan's name for it and its kube context in the worker's kubeconfig. */
export interface ClusterTarget {
  cluster: string;
  context: string;
}

/**
 * What a running activity reports with each heartbeat. Temporal keeps the latest one with the pending
 * activity: `rollout status` and the Web UI's pending activities show it.
 */
export interface ActivityHeartbeat {
  /** Set while the cluster (or another peer: `what`, such as a chart repository) does not answer and the step is retrying. */
  unreachable?: { since: string; attempts: number; error: string; what?: string };
  /** What the step waits on now, in words (Argo CD: another client's sync, its own, the Application's health). */
  waiting?: string;
}

/** Records where each of the cluster's components stands, before the rollout changes anything there. */
export interface SnapshotInput extends ClusterTarget {
  /** The components this cluster gets, by name. */
  releases: { component: string; release: ReleaseSpec }[];
  /** How long to keep retrying an unreachable cluster. */
  timeout: string;
}

/** `helm upgrade --install` of one release to a version, with the base values and the cluster's overlay. */
export interface UpgradeReleaseInput extends ClusterTarget {
  /** The component's name, for messages and heartbeats. */
  component: string;
  release: ReleaseSpec;
  /** Target chart version (the plan's, or the one given at start). */
  version: string;
  /** Where the values files (and a local chart) come from, pinned at start. */
  source: PinnedSource;
  /** The cluster's overlay, applied after the release's base values. */
  overlay?: string;
  /** Recorded as the Helm revision's description, so `helm history` says which rollout made it. */
  rolloutId: string;
  /** The plan's name: Argo CD moves only the Applications handed to it. */
  plan?: string;
  /** The first change of a cluster's attempt: a pause or freeze in force refuses it (see `Fence`). */
  opensCluster?: boolean;
}

/** The release after the upgrade (or as found, when nothing needed doing). */
export interface UpgradeReleaseResult {
  /** False when the release already ran this version with these values: nothing was done. */
  changed: boolean;
  /** With changed false: the revision in place was made by this rollout (an attempt cut short, resumed). */
  resumed?: boolean;
  revision: number;
  chartVersion: string;
  valuesDigest: string;
}

/** Runs the synchronizer Job for one cluster and version (or adopts the one already there). */
export interface SynchronizerInput extends ClusterTarget {
  synchronizer: SynchronizerSpec;
  version: string;
  cacheKey: string;
  /** Where the template file comes from, pinned at start. */
  source: PinnedSource;
  rolloutId: string;
}

/** The Job that ran, so the workflow can remove it once the cache is ready. */
export interface SynchronizerResult {
  jobName: string;
  namespace: string;
  /** False when a Job for this cluster and version had already succeeded. */
  changed: boolean;
  /** The Job found in place was started by this rollout (an attempt cut short, resumed). */
  resumed?: boolean;
}

/** Waits until the cluster's cache is ready for the version (watch, or HTTP for an http check). */
export interface CacheReadyInput extends ClusterTarget {
  /** The plan's cache check with its placeholders already filled in by the workflow. */
  cache: CacheSpec;
  version: string;
  cacheKey: string;
}

/** What the check saw when it passed. */
export interface CacheReadyResult {
  /** What the check observed, e.g. "ConfigMap express/express-cache data.readyVersion=2.1.0". */
  observed: string;
}

/** Removes the synchronizer Jobs of one version from a cluster (all of them: a retry may have left two). */
export interface CleanupSynchronizerInput extends ClusterTarget {
  namespace: string;
  version: string;
  /** How long to keep retrying an unreachable cluster. */
  timeout: string;
}

/** Verifies workloads rolled out at their generation, pods Ready and not restarting, endpoints answering. */
export interface VerifyInput extends ClusterTarget {
  release: ReleaseSpec;
  verify: VerifySpec;
  /** The chart version the workloads must run (labels/annotations of the release). */
  version: string;
}

/** What was verified. */
export interface VerifyResult {
  /** One line per workload or endpoint checked. */
  checked: string[];
}

/** Returns one release to its snapshot: `helm rollback` to the revision, or uninstall when there was none. */
export interface RollbackReleaseInput extends ClusterTarget {
  /** The component's name, for messages. */
  component: string;
  release: ReleaseSpec;
  /** Where to return; null means the release did not exist before, so it is uninstalled. */
  to: ReleaseSnapshot | null;
  /** How long to keep retrying an unreachable cluster (the plan's onFailure.rollbackTimeout). */
  timeout: string;
  /** The rollout rolling back: recorded on the revision the rollback makes, so the fleet knows it as its own. */
  rolloutId: string;
  /** The plan's name and pinned source, for Argo CD (only Applications handed to the plan move). */
  plan?: string;
  source?: PinnedSource;
}

/** The release's revision after the rollback (null when uninstalled); changed false when already there. */
export interface RollbackReleaseResult {
  changed: boolean;
  revision: number | null;
}

/** A cluster as preflight, the diff and the fleet read it: its overlays and labels (which components it gets). */
export type ClusterReleases = ClusterTarget & { overlays: Overlays; labels: Record<string, string> };

/** What a rollout checks once, on the worker, before it takes a lock or touches a cluster. */
export interface PreflightInput extends ReleaseTarget {
  synchronizer?: SynchronizerSpec;
  /** The plan's notification sinks: each must find its URL on the worker, or nothing would be told. */
  sinks: NotificationSink[];
  /**
   * Every cluster with its overlay and context, so each release is rendered with each cluster's values and
   * as that cluster's version and APIs (`.Capabilities`) will see it.
   */
  clusters: ClusterReleases[];
}

export interface PreflightResult {
  /** One line per check that passed, e.g. "chart express 2.1.0 renders with the values of 3 clusters". */
  checked: string[];
  /** What could not be checked, e.g. a cluster that did not answer and was rendered as Helm's defaults see it. */
  warnings: string[];
}

/**
 * Clusters to diff: both releases at their target versions with each cluster's pinned values, against
 * what each release's current revision declares. Reads clusters; changes nothing.
 */
export interface DiffInput extends ReleaseTarget {
  clusters: ClusterReleases[];
  /** How long to keep retrying a cluster that does not answer. */
  timeout: string;
}

/** One group of clusters with the same diff, and that diff's text (bounded, with a truncation marker). */
export interface ClusterDiffText extends DiffGroup {
  text: string;
  truncated: boolean;
}

/** Clusters whose releases and cache to read against what the config source wants (`rollout fleet`). */
export interface FleetReadInput extends ReleaseTarget {
  /** Each cluster with its overlay and, when the plan has one, its cache check for the wanted version. */
  clusters: (ClusterReleases & { cacheCheck?: CacheSpec['check'] })[];
}

/** Everything a worker must implement. Workflows import this type only. */
export interface Activities {
  /**
   * Both charts exist at their versions, every values file parses, the synchronizer template is a Job,
   * and the chart renders (`helm template`) with every cluster's values. Touches no cluster. Fails with
   * PreflightFailed listing every problem.
   */
  preflight(input: PreflightInput): Promise<PreflightResult>;
  snapshotCluster(input: SnapshotInput): Promise<ClusterSnapshot>;
  upgradeRelease(input: UpgradeReleaseInput): Promise<UpgradeReleaseResult>;
  runSynchronizerJob(input: SynchronizerInput): Promise<SynchronizerResult>;
  waitForCacheReady(input: CacheReadyInput): Promise<CacheReadyResult>;
  cleanupSynchronizerJob(input: CleanupSynchronizerInput): Promise<void>;
  verifyWorkloads(input: VerifyInput): Promise<VerifyResult>;
  rollbackRelease(input: RollbackReleaseInput): Promise<RollbackReleaseResult>;
  /** The clusters' diffs grouped by content, digests and summaries only (for a phase's gate). */
  diffClusters(input: DiffInput): Promise<ReleaseDiff>;
  /** The full diff text once per group of clusters, `maxBytes` in all (for `rollout diff`). */
  diffText(input: DiffInput & { maxBytes: number }): Promise<ClusterDiffText[]>;
  /** What runs on each cluster against what the config source wants, with a verdict per cluster. */
  readFleet(input: FleetReadInput): Promise<FleetRow[]>;
  /** The commit a git source's ref names now. */
  resolveSource(input: { url: string; ref: string; path: string; credential?: string }): Promise<PinnedSource>;
  /** Posts one event to one notification sink (its URL read on the worker). */
  deliverNotification(input: { sink: NotificationSink; event: RolloutEvent }): Promise<{ status: number }>;
  /** Whether an approval's SSH signature verifies for its principal against the plan's allowed signers. */
  verifyApproval(input: VerifyApprovalInput): Promise<{ valid: boolean; detail: string }>;
  /** One measurement of a metric analysis (Prometheus HTTP API), judged by the template's conditions. */
  measureAnalysis(input: MeasureInput): Promise<Measurement>;
  /** The freezes and bad chart versions in force (the registry workflow's state). */
  registryState(input: { registryId: string }): Promise<RegistryState>;
  /** Takes a signed start's nonce for a run from the control registry (see StartClaimReply). */
  claimStart(input: { registryId: string; taskQueue: string; claim: StartClaim }): Promise<StartClaimReply>;
  /** The step each of these cluster workflows is at (their `progress` query); absent for one that ended. */
  stepsOf(input: { workflowIds: string[] }): Promise<{ workflowId: string; step?: string }[]>;
  /** Signals the running rollouts a registry change concerns; returns the IDs of those told. */
  tellRollouts(input: TellRolloutsInput): Promise<{ told: string[] }>;
  /**
   * Takes every cluster for the rollout's run from the lock registry, all or none; returns the clusters
   * held by running rollouts (none: taken). Idempotent.
   */
  takeClusters(input: {
    registryId: string;
    taskQueue: string;
    owner: LockOwner;
    clusters: string[];
  }): Promise<{ held: Holding[] }>;
  /** What running rollouts on the task queue hold, from their status: the lock registry's table, rebuilt. */
  heldByRunningRollouts(input: { taskQueue: string }): Promise<Holding[]>;
  /** Gives back every cluster the rollout's run holds in the lock registry. Idempotent. */
  releaseClusters(input: { registryId: string; owner: LockOwner }): Promise<{ released: number }>;
}

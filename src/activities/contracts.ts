/**
 * The activity contracts: what workflows may ask of the outside world. Inputs carry names (cluster, kube
 * context, release, file references relative to baseDir), never kubeconfig contents or tokens: the worker
 * resolves those from its own environment. Every activity is idempotent: a retry after a crash finds the
 * work already done and says so (`changed: false`) instead of doing it twice.
 */
import type { ClusterSnapshot, ReleaseSnapshot } from '../domain/types.js';
import type { CacheSpec, ReleaseSpec, SynchronizerSpec, VerifySpec } from '../plan/schema.js';

/** Which cluster to act on: the plan's name for it and its kube context in the worker's kubeconfig. */
export interface ClusterTarget {
  cluster: string;
  context: string;
}

export interface SnapshotInput extends ClusterTarget {
  operator: Pick<ReleaseSpec, 'releaseName' | 'namespace'>;
  chart: Pick<ReleaseSpec, 'releaseName' | 'namespace'>;
}

export interface UpgradeReleaseInput extends ClusterTarget {
  /** "operator" or "chart", for messages and heartbeats. */
  role: 'operator' | 'chart';
  release: ReleaseSpec;
  /** Target chart version (the plan's, or the one given at start). */
  version: string;
  baseDir: string;
  /** The cluster's overlay, applied after the release's base values. */
  overlay?: string;
}

export interface UpgradeReleaseResult {
  /** False when the release already ran this version with these values: nothing was done. */
  changed: boolean;
  revision: number;
  chartVersion: string;
  valuesDigest: string;
}

export interface SynchronizerInput extends ClusterTarget {
  synchronizer: SynchronizerSpec;
  version: string;
  cacheKey: string;
  baseDir: string;
  rolloutId: string;
}

export interface SynchronizerResult {
  jobName: string;
  namespace: string;
  /** False when a Job for this cluster and version had already succeeded. */
  changed: boolean;
}

export interface CacheReadyInput extends ClusterTarget {
  cache: CacheSpec;
  version: string;
  cacheKey: string;
}

export interface CacheReadyResult {
  /** What the check observed, e.g. "ConfigMap express/express-cache data.readyVersion=2.1.0". */
  observed: string;
}

export interface CleanupSynchronizerInput extends ClusterTarget {
  jobName: string;
  namespace: string;
}

export interface VerifyInput extends ClusterTarget {
  release: Pick<ReleaseSpec, 'releaseName' | 'namespace'>;
  verify: VerifySpec;
  /** The chart version the workloads must run (labels/annotations of the release). */
  version: string;
}

export interface VerifyResult {
  /** One line per workload or endpoint checked. */
  checked: string[];
}

export interface RollbackReleaseInput extends ClusterTarget {
  role: 'operator' | 'chart';
  release: Pick<ReleaseSpec, 'releaseName' | 'namespace' | 'timeout'>;
  /** Where to return; null means the release did not exist before, so it is uninstalled. */
  to: ReleaseSnapshot | null;
}

export interface RollbackReleaseResult {
  changed: boolean;
  revision: number | null;
}

export interface LockHolder {
  holder: string;
  /** False while a lock is being released after its rollout closed. */
  holderRunning: boolean;
}

/** Everything a worker must implement. Workflows import this type only. */
export interface Activities {
  snapshotCluster(input: SnapshotInput): Promise<ClusterSnapshot>;
  upgradeRelease(input: UpgradeReleaseInput): Promise<UpgradeReleaseResult>;
  runSynchronizerJob(input: SynchronizerInput): Promise<SynchronizerResult>;
  waitForCacheReady(input: CacheReadyInput): Promise<CacheReadyResult>;
  cleanupSynchronizerJob(input: CleanupSynchronizerInput): Promise<void>;
  verifyWorkloads(input: VerifyInput): Promise<VerifyResult>;
  rollbackRelease(input: RollbackReleaseInput): Promise<RollbackReleaseResult>;
  /** Who holds a cluster's lock (undefined when nobody does), and whether that rollout is still running. */
  lockHolder(input: { lockWorkflowId: string }): Promise<LockHolder | undefined>;
}

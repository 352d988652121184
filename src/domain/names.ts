/**
 * The names Temporal knows this tool's workflows and messages by: workflow types, and the queries, signals
 * and updates of each. Clients that cannot import the workflows (the registries' client helpers, list
 * queries) use these, so a rename is one edit that every side sees.
 */

/** Workflow types, as registered by the worker (the exported function names in workflows/index.ts). */
export const WorkflowType = {
  Rollout: 'rollout',
  ClusterRollout: 'clusterRollout',
  ClusterRollback: 'clusterRollback',
  PhaseBake: 'phaseBake',
  ReleaseDiff: 'releaseDiff',
  FleetStatus: 'fleetStatus',
  Notification: 'notification',
  ControlRegistry: 'controlRegistry',
  LockRegistry: 'lockRegistry',
} as const;
export type WorkflowType = (typeof WorkflowType)[keyof typeof WorkflowType];

/** Queries, signals and updates, by the workflow that handles them. */
export const MessageName = {
  // A rollout's
  Status: 'status',
  StatusPage: 'status-page',
  Fence: 'fence',
  Release: 'release',
  Started: 'started',
  Approve: 'approve',
  Pause: 'pause',
  Resume: 'resume',
  Abort: 'abort',
  Rollback: 'rollback',
  Retry: 'retry',
  Skip: 'skip',
  Accept: 'accept',
  OverrideWindow: 'override-window',
  Freeze: 'freeze',
  VersionDenied: 'version-denied',
  VersionAllowed: 'version-allowed',
  // A cluster workflow's
  Progress: 'progress',
  WindowOverride: 'window-override',
  // The control registry's
  Registry: 'registry',
  FreezeAll: 'freeze',
  Unfreeze: 'unfreeze',
  DenyVersion: 'deny-version',
  AllowVersion: 'allow-version',
  ClaimStart: 'claim-start',
  // The lock registry's
  Locks: 'locks',
  TakeClusters: 'take-clusters',
  ReleaseClusters: 'release-clusters',
  // A fleet check's
  FleetPage: 'fleet-page',
} as const;
export type MessageName = (typeof MessageName)[keyof typeof MessageName];

/**
 * The rollout's controls and queries. Controls are Workflow Updates with validators: the caller learns at
 * once whether the request was accepted and, if not, why. The CLI imports these same definitions.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Actor } from '../domain/controls.js';
import type { ClusterSnapshot, RollbackScope, RolloutStatus, StepName } from '../domain/types.js';

export const statusQuery = defineQuery<RolloutStatus>('status');

export const approveUpdate = defineUpdate<RolloutStatus, [Actor & { phase: string }]>('approve');
export const pauseUpdate = defineUpdate<RolloutStatus, [Actor]>('pause');
export const resumeUpdate = defineUpdate<RolloutStatus, [Actor]>('resume');
export const abortUpdate = defineUpdate<RolloutStatus, [Actor & { reason: string }]>('abort');
export const rollbackUpdate = defineUpdate<RolloutStatus, [Actor & { scope: RollbackScope }]>('rollback');
export const retryUpdate = defineUpdate<RolloutStatus, [Actor & { cluster: string }]>('retry');
export const skipUpdate = defineUpdate<RolloutStatus, [Actor & { cluster: string }]>('skip');
/** Accepts a cluster whose rollback could not finish as it is, so the rollout can end; recorded as a decision. */
export const acceptUpdate = defineUpdate<RolloutStatus, [Actor & { cluster: string }]>('accept');

/** What `rollout start` learns once the rollout has passed its preflight and holds every cluster's lock. */
export interface StartedResult {
  clusters: number;
  state: string;
}
/**
 * Returns once the rollout has passed its preflight and holds its clusters' locks; fails with the reason
 * (PreflightFailed, ClusterLocked naming the holder) when it was refused. Changes nothing.
 */
export const startedUpdate = defineUpdate<StartedResult, []>('started');

/** What a cluster's workflow is doing right now. */
export interface ClusterProgress {
  cluster: string;
  step?: StepName;
  done: StepName[];
  /** Steps found already in place. */
  skipped: StepName[];
  /** Steps this rollout had done in an attempt cut short (a worker crash), found done on resumption. */
  resumed: StepName[];
}
export const progressQuery = defineQuery<ClusterProgress>('progress');

/** Sent by a cluster's workflow to its rollout as soon as it has recorded where the cluster stood. */
export const snapshotSignal = defineSignal<[{ cluster: string; snapshot: ClusterSnapshot }]>('snapshot');

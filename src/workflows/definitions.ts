/**
 * The rollout's controls and queries. Controls are Workflow Updates with validators: the caller learns at
 * once whether the request was accepted and, if not, why. The CLI imports these same definitions.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Actor } from '../domain/controls.js';
import type { DiffInput } from '../activities/contracts.js';
import type { ClusterSnapshot, RollbackScope, RolloutStatus, StepName } from '../domain/types.js';

/** The rollout's whole status: phases, clusters, decisions, why it waits. Costs no history. */
export const statusQuery = defineQuery<RolloutStatus>('status');

/**
 * What the rollout rolls, as `rollout diff` needs it to diff clusters from anywhere: the pinned source,
 * both releases and versions, and every cluster with its kube context, overlay and phase. Names only.
 */
export interface RolloutRelease extends Omit<DiffInput, 'clusters' | 'timeout'> {
  clusters: (DiffInput['clusters'][number] & { phase: string })[];
  timeout: string;
}
export const releaseQuery = defineQuery<RolloutRelease>('release');

/*
 * Every control below takes who acts (`by`, checked against the plan's approvers where they guard it) and
 * an optional comment, is refused by its validator with the reason (nothing recorded), and when accepted
 * is recorded as a decision and returns the status.
 */

/**
 * Approves a phase's gate; a later phase may be approved early. Approvers only. `digest` is the phase
 * diff's digest the approver reviewed: refused when the diff is now another, and the approval stops
 * holding if the diff changes before the phase starts. Without it, the approval binds to the diff the
 * gate shows when it is accepted (none, for an early approval: then to the pinned source and versions).
 */
export const approveUpdate = defineUpdate<RolloutStatus, [Actor & { phase: string; digest?: string }]>('approve');
/** Starts no new cluster or phase; clusters in flight finish. Anyone may pause. */
export const pauseUpdate = defineUpdate<RolloutStatus, [Actor]>('pause');
/** Ends a pause. Approvers only. */
export const resumeUpdate = defineUpdate<RolloutStatus, [Actor]>('resume');
/** Cancels clusters in flight and restores half-done ones; finished clusters stay. Anyone, with a reason. */
export const abortUpdate = defineUpdate<RolloutStatus, [Actor & { reason: string }]>('abort');
/** Rolls back the phase in progress (`phase`) or everything rolled so far (`all`), newest first. Approvers only. */
export const rollbackUpdate = defineUpdate<RolloutStatus, [Actor & { scope: RollbackScope }]>('rollback');
/**
 * Runs a failed cluster of the phase in progress again (steps in place are skipped); while the rollout
 * restores clusters, rolls a cluster whose rollback failed back again. Approvers only.
 */
export const retryUpdate = defineUpdate<RolloutStatus, [Actor & { cluster: string }]>('retry');
/** Leaves a failed cluster of the phase in progress as it is and goes on. Approvers only. */
export const skipUpdate = defineUpdate<RolloutStatus, [Actor & { cluster: string }]>('skip');
/** Accepts a cluster whose rollback could not finish as it is, so the rollout can end. Approvers, with a comment. */
export const acceptUpdate = defineUpdate<RolloutStatus, [Actor & { cluster: string }]>('accept');

/**
 * Sets a deploy window aside for this rollout: its clusters start as if the window did not exist.
 * Approvers only, with a reason; recorded as a decision.
 */
export const overrideWindowUpdate = defineUpdate<RolloutStatus, [Actor & { window: string }]>('override-window');

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

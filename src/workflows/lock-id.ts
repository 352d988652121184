import { legacyLockWorkflowId } from '../domain/locks.js';

/** The lock workflow's ID for a cluster, as rollouts started before the lock registry took them. */
export const lockWorkflowId = legacyLockWorkflowId;

/**
 * The task queue lock workflows run on, beside the rollout's own: a worker of its own serves it with no
 * workflow cache. Rollouts take their clusters from the lock registry now; the lock worker serves the
 * lock workflows of rollouts started before, which may still need a workflow task (to start, or to be
 * cancelled), until none runs.
 */
export const lockTaskQueue = (taskQueue: string) => `${taskQueue}-locks`;

/** The lock workflow's ID for a cluster: one running lock per cluster across all rollouts. */
export const lockWorkflowId = (cluster: string) => `cluster-lock-${cluster}`;

/**
 * The task queue lock workflows run on, beside the rollout's own: a worker of its own serves it with a
 * small workflow cache, so that the thousand locks a large rollout holds are not a thousand cached
 * workflows (each lock needs a workflow task when taken and one when released, nothing in between).
 */
export const lockTaskQueue = (taskQueue: string) => `${taskQueue}-locks`;

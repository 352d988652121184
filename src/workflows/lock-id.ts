/** The lock workflow's ID for a cluster: one running lock per cluster across all rollouts. */
export const lockWorkflowId = (cluster: string) => `cluster-lock-${cluster}`;

/**
 * The activity ID of a cluster's snapshot when the rollout takes it (the regular activity, after a failed
 * local try), before the cluster's workflow starts: `rollout status` reads from it whose step it is.
 */
export const snapshotActivityId = (cluster: string, attempt: number) => `snapshot:${attempt}:${cluster}`;

/** The cluster a rollout's activity takes the snapshot of, when its ID is a snapshot's. */
export function snapshotActivityCluster(activityId: string): string | undefined {
  return /^snapshot:\d+:(.+)$/.exec(activityId)?.[1];
}

import { CancellationScope, condition, isCancellation } from '@temporalio/workflow';

/**
 * Holds one cluster for one rollout. Its workflow ID is the lock (`cluster-lock-<cluster>`): the server
 * refuses a second running workflow with that ID, which makes acquisition atomic. It ends, completed, when
 * the rollout that started it closes (the parent-close policy requests its cancellation).
 */
export async function clusterLock(): Promise<void> {
  try {
    await CancellationScope.cancellable(() => condition(() => false));
  } catch (err) {
    if (!isCancellation(err)) throw err;
  }
}

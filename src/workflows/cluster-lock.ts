import { CancellationScope, condition, isCancellation } from '@temporalio/workflow';

/**
 * Holds one cluster for one rollout. Its workflow ID is the lock (`cluster-lock-<cluster>`): the server
 * refuses a second running workflow with that ID, which makes acquisition atomic. It waits, with nothing
 * to do, until the rollout that started it closes: the server then terminates it (its parent-close
 * policy), which needs no workflow task. Locks of rollouts started before that were cancelled instead,
 * and end completed.
 */
export async function clusterLock(): Promise<void> {
  try {
    await CancellationScope.cancellable(() => condition(() => false));
  } catch (err) {
    if (!isCancellation(err)) throw err;
  }
}

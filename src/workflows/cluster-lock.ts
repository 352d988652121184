import { CancellationScope, condition, isCancellation, setHandler } from '@temporalio/workflow';
import { releaseSignal } from './definitions.js';

/**
 * Holds one cluster for one rollout. Its workflow ID is the lock (`cluster-lock-<cluster>`): the server
 * refuses a second running workflow with that ID, which makes acquisition atomic. It ends when the rollout
 * releases it, or when the rollout closes (the parent-close policy requests cancellation).
 */
export async function clusterLock(): Promise<void> {
  let released = false;
  setHandler(releaseSignal, () => {
    released = true;
  });
  try {
    await CancellationScope.cancellable(() => condition(() => released));
  } catch (err) {
    if (!isCancellation(err)) throw err;
  }
}

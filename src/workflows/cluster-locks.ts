import { ApplicationFailure, CancellationScope, log, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../domain/failure-types.js';
import { quick } from './activity-options.js';
import { lockRegistryId } from './definitions.js';
import { heldMessage } from '../domain/locks.js';

/**
 * The rollout, as the holder of its clusters: its workflow ID and its first run's ID, which every run
 * of it shares when it continues as new (a later run gives back what the first took).
 */
const owner = () => ({ rollout: workflowInfo().workflowId, runId: workflowInfo().firstExecutionRunId });

/**
 * Takes every cluster from the lock registry, all or none, in one activity: the registry changes one
 * update at a time, so two rollouts never both get a cluster. What rollouts that closed without giving
 * their clusters back still hold is reclaimed; a cluster held by a running rollout refuses the start,
 * naming it.
 */
export async function takeClusters(clusters: string[]): Promise<void> {
  const { taskQueue } = workflowInfo();
  const { held } = await quick.takeClusters({
    registryId: lockRegistryId(taskQueue),
    taskQueue,
    owner: owner(),
    clusters,
  });
  if (held.length > 0) {
    throw ApplicationFailure.create({
      type: FailureType.ClusterLocked,
      message: heldMessage(held),
      nonRetryable: true,
    });
  }
}

/**
 * Gives the clusters back to the lock registry, even when the rollout is being cancelled. Should that
 * fail, the clusters stay listed for this closed run until another rollout wants them and reclaims them,
 * so a failure here does not fail the rollout.
 */
export async function releaseClusters(): Promise<void> {
  const registryId = lockRegistryId(workflowInfo().taskQueue);
  try {
    await CancellationScope.nonCancellable(() => quick.releaseClusters({ registryId, owner: owner() }));
  } catch (err) {
    log.warn('the clusters were not given back; the next rollout to want them reclaims them', {
      error: (err as Error).message,
    });
  }
}

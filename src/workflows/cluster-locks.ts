import {
  ApplicationFailure,
  CancellationScope,
  log,
  ParentClosePolicy,
  patched,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { quick } from './activity-options.js';
import { clusterLock } from './cluster-lock.js';
import { lockTaskQueue, lockWorkflowId } from './lock-id.js';
import { lockRegistryId } from './definitions.js';
import { heldMessage } from '../domain/locks.js';

/** This run of the rollout, as the holder of its clusters. */
const owner = () => ({ rollout: workflowInfo().workflowId, runId: workflowInfo().runId });

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

/**
 * How rollouts started before the lock registry took their clusters, kept for them.
 * Takes every cluster's lock, atomically per cluster: the server refuses a second running workflow with a
 * lock's ID. Locks are children released by their parent-close policy when the rollout closes, however it
 * closes, at no cost to its history. The server terminates them: a lock then takes one workflow task in
 * its life, when taken (rollouts started before that asked them to cancel, a second task each). A lock
 * whose holder has just closed is still being released: it is tried again for a few seconds before the
 * rollout is refused. Locks run on their own task queue (rollouts started before that ran theirs on the
 * rollout's).
 */
export async function acquireLocks(clusters: string[]): Promise<void> {
  const queue = patched('lock-queue') ? { taskQueue: lockTaskQueue(workflowInfo().taskQueue) } : {};
  const parentClosePolicy = patched('lock-terminate') ? ParentClosePolicy.TERMINATE : ParentClosePolicy.REQUEST_CANCEL;
  let wanted = clusters;
  for (let attempt = 1; ; attempt++) {
    const results = await Promise.allSettled(
      wanted.map((c) =>
        startChild(clusterLock, {
          workflowId: lockWorkflowId(c),
          parentClosePolicy,
          ...queue,
        }),
      ),
    );
    const rejected = results.flatMap((r, i) =>
      r.status === 'rejected' ? [[wanted[i] as string, r.reason] as const] : [],
    );
    if (rejected.length === 0) return;
    const other = rejected.find(([, reason]) => !(reason instanceof WorkflowExecutionAlreadyStartedError));
    if (other) throw other[1];
    wanted = rejected.map(([c]) => c);
    const holders = await Promise.all(wanted.map((c) => quick.lockHolder({ lockWorkflowId: lockWorkflowId(c) })));
    const held = wanted.filter((_, i) => holders[i]?.holderRunning);
    if (held.length > 0 || attempt >= 10) {
      const names = wanted.map((c, i) => `${c} (held by ${holders[i]?.holder ?? 'another rollout'})`);
      throw ApplicationFailure.create({
        type: FailureType.ClusterLocked,
        message: `clusters already taken by another running rollout: ${names.join(', ')}`,
        nonRetryable: true,
      });
    }
    await sleep('1s');
  }
}

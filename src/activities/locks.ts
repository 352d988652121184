import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LockHolder } from './contracts.js';

/** Finds which rollout holds a cluster's lock (the running lock workflow's parent) and whether it still runs. */
export async function findLockHolder(client: Client, lockWorkflowId: string): Promise<LockHolder | undefined> {
  try {
    const lock = await client.workflow.getHandle(lockWorkflowId).describe();
    const holder = lock.parentExecution?.workflowId;
    if (lock.status.name !== 'RUNNING' || !holder) return undefined;
    const parent = await client.workflow.getHandle(holder, lock.parentExecution?.runId ?? undefined).describe();
    return { holder, holderRunning: parent.status.name === 'RUNNING' };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export function createLockActivities(client: Client) {
  return {
    lockHolder: ({ lockWorkflowId }: { lockWorkflowId: string }) => findLockHolder(client, lockWorkflowId),
  };
}

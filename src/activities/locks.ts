import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LockHolder } from './contracts.js';
import type { RegistryState } from '../domain/types.js';

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

/**
 * The freezes and bad versions in force, from the registry workflow (none when it never ran). The
 * registry's ID is passed by the caller, so activities import nothing of the workflows.
 */
export async function readRegistry(client: Client, registryId: string): Promise<RegistryState> {
  try {
    const handle = client.workflow.getHandle(registryId);
    if ((await handle.describe()).status.name !== 'RUNNING') return { freezes: [], denied: [] };
    return await handle.query<RegistryState>('registry');
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { freezes: [], denied: [] };
    throw err;
  }
}

export function createLockActivities(client: Client) {
  return {
    lockHolder: ({ lockWorkflowId }: { lockWorkflowId: string }) => findLockHolder(client, lockWorkflowId),
    registryState: ({ registryId }: { registryId: string }) => readRegistry(client, registryId),
  };
}

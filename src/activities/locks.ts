import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** Finds which rollout holds a cluster's lock: the parent of the running lock workflow. */
export function createLockActivities(client: Client) {
  return {
    async lockHolder({ lockWorkflowId }: { lockWorkflowId: string }): Promise<string | undefined> {
      try {
        const d = await client.workflow.getHandle(lockWorkflowId).describe();
        return d.status.name === 'RUNNING' ? (d.parentExecution?.workflowId ?? undefined) : undefined;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
  };
}

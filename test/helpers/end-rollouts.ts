import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../../src/common/payload-codec.js';

/**
 * Terminates every rollout still running on a task queue: a failed test must not leave one holding the
 * lab's clusters for the next test (or the next file, which reuses the cluster names).
 */
export async function endRunningRollouts(address: string, taskQueue: string, reason: string): Promise<void> {
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter });
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND WorkflowType = 'rollout'`;
  for await (const wf of client.workflow.list({ query })) {
    await client.workflow
      .getHandle(wf.workflowId)
      .terminate(reason)
      .catch(() => undefined);
  }
  await connection.close();
}

/**
 * The bare Temporal fan-out the engine benchmark compares the rollout with: the same shape (N child
 * workflows on the cluster queue, each running the same number of no-op activities one after another,
 * `parallel` at a time) with none of the rollout's own work (locks, status, search attributes, signals). The ratio of the two
 * wall times is the engine's own overhead on the same server and worker.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { clusterTaskQueue } from '../src/workflows/definitions.js';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function bareChild(steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await noop();
}

export async function bareFanout(input: { children: number; steps: number; parallel: number }): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < input.children) {
      const i = next++;
      await executeChild(bareChild, {
        workflowId: `${workflowInfo().workflowId}:${i}`,
        // Where the rollout's cluster workflows run, served by the same worker's second SDK worker.
        taskQueue: clusterTaskQueue(workflowInfo().taskQueue),
        args: [input.steps],
      });
      done++;
    }
  };
  await Promise.all(Array.from({ length: input.parallel }, lane));
  return done;
}

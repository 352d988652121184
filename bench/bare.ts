/**
 * The bare Temporal fan-out the engine benchmark compares the rollout with: the same shape (N child
 * workflows on the cluster queue, each running the same number of no-op activities one after another,
 * `parallel` at a time, continuing as new every 2,000) with none of the rollout's own work (locks,
 * status, search attributes, signals). The ratio of the two wall times is the engine's own overhead on
 * the same server and worker.
 */
import { continueAsNew, executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { clusterTaskQueue } from '../src/workflows/definitions.js';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function bareChild(steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await noop();
}

/** Children one run of the fan-out starts before it continues as new: 2,000 cost it about 20,000 events. */
const perRun = 2_000;

/**
 * Starts `children` children, `parallel` at a time; every `perRun` children, once those in flight are
 * done, it continues as new with the count left (as the rollout does at its history budget: 10,000
 * children in one history pass Temporal's limit of 51,200 events once its tasks stop batching
 * completions). Returns how many children all its runs ran.
 */
export async function bareFanout(input: {
  children: number;
  steps: number;
  parallel: number;
  done?: number;
}): Promise<number> {
  let next = input.done ?? 0;
  const end = Math.min(input.children, next + perRun);
  const lane = async () => {
    while (next < end) {
      const i = next++;
      await executeChild(bareChild, {
        workflowId: `${workflowInfo().workflowId}:${i}`,
        // Where the rollout's cluster workflows run, served by the same worker's second SDK worker.
        taskQueue: clusterTaskQueue(workflowInfo().taskQueue),
        args: [input.steps],
      });
    }
  };
  await Promise.all(Array.from({ length: input.parallel }, lane));
  // Every lane has finished: the children up to `end` are done.
  if (end < input.children) return continueAsNew<typeof bareFanout>({ ...input, done: end });
  return end;
}

import { bundleWorkflowCode, Worker, type State, type WorkerOptions } from '@temporalio/worker';
import { clusterTaskQueue } from '../workflows/definitions.js';

/**
 * What one rollout-worker runs: an SDK worker on the task queue it is given (rollouts, their gates and
 * notifications, the registries) and one on that queue's cluster queue (each cluster's rollout and
 * rollback, and their steps). Each SDK worker has its own workflow thread, task slots and pollers, so a
 * rollout's workflow tasks and the queries sent to it (`status`, the controls' validators, every mutating
 * step's fence) are not queued behind the tasks of the hundreds of cluster workflows a wide phase runs at
 * once. Both take the same options: same workflow code, activities, tuning and Worker Versioning build,
 * so a pinned rollout's cluster workflows run on its build too.
 *
 * It runs, stops and reports its state as one worker: `run()` ends when both have stopped, and if one
 * fails the other is shut down and `run()` rejects with the failure.
 */
export class RolloutWorkers {
  private constructor(readonly workers: readonly [rollouts: Worker, clusters: Worker]) {}

  static async create(options: WorkerOptions): Promise<RolloutWorkers> {
    const code = await sharedBundle(options);
    const rollouts = await Worker.create({ ...options, ...code });
    const clusters = await Worker.create({ ...options, ...code, taskQueue: clusterTaskQueue(options.taskQueue) });
    return new RolloutWorkers([rollouts, clusters]);
  }

  /** The task queues polled: the one given and its cluster queue. */
  get taskQueues(): string[] {
    return this.workers.map((w) => w.options.taskQueue);
  }

  async run(): Promise<void> {
    const runs = await Promise.allSettled(
      this.workers.map((w) =>
        w.run().catch((err: unknown) => {
          this.shutdown();
          throw err;
        }),
      ),
    );
    const failed = runs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Starts a graceful shutdown of both (the SDK also does on SIGINT and SIGTERM). */
  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** RUNNING when both run; otherwise the state of the first that does not. */
  getState(): State {
    return this.workers.map((w) => w.getState()).find((s) => s !== 'RUNNING') ?? 'RUNNING';
  }
}

/** Workflow code from sources is bundled once for both workers rather than once each. */
async function sharedBundle(options: WorkerOptions): Promise<Partial<WorkerOptions>> {
  if (options.workflowBundle || !options.workflowsPath) return {};
  const bundle = await bundleWorkflowCode({ workflowsPath: options.workflowsPath, ...options.bundlerOptions });
  return { workflowBundle: bundle, workflowsPath: undefined, bundlerOptions: undefined };
}

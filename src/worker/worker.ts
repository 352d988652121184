import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities/contracts.js';
import { createActivities } from '../activities/index.js';
import { HelmClient } from '../activities/helm.js';
import { createKubeFactory } from '../activities/kube.js';
import { cacheRoot } from '../common/cache-dir.js';
import { findHelm } from '../common/helm-binary.js';
import { sourceFilesFromEnv } from '../activities/source.js';
import type { TemporalConfig } from '../common/temporal-config.js';
import { bundleFiles, bundleSource, type BundleName } from './bundles.js';
import { lockTaskQueue } from '../workflows/api.js';

/**
 * Where a worker finds workflow code: the prebuilt bundle in production (`npm run build` writes both),
 * the sources in development, bundled as the build does. `locks` is the lock workflow alone.
 */
export function workflowSource(
  which: BundleName = 'rollout',
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  const bundlePath = fileURLToPath(new URL(`../${bundleFiles[which]}`, import.meta.url));
  if (existsSync(bundlePath)) return { workflowBundle: { codePath: bundlePath } };
  const { workflowsPath, preloadModules } = bundleSource(which);
  return { workflowsPath, bundlerOptions: { preloadModules } };
}

/**
 * How the worker is sized: the one set of options production workers and the engine benchmark share, so
 * that what the benchmark measures is what runs. `ROLLOUT_WORKFLOW_CACHE` caps how many workflows the
 * worker keeps in memory (the SDK's default scales with the heap: about 2,300 on a 4 GB heap). A rollout
 * keeps its cluster workflows (up to the phase's maxParallel) and itself in it, and the lock registry
 * one more. A cap trades memory for replays: docs/benchmarks.md has the figures.
 */
export const workerTuning: Partial<WorkerOptions> = {
  shutdownGraceTime: '10s',
  ...(process.env['ROLLOUT_WORKFLOW_CACHE']
    ? { maxCachedWorkflows: Number(process.env['ROLLOUT_WORKFLOW_CACHE']) }
    : {}),
};

/**
 * The lock worker's sizing. It serves the lock workflows of rollouts started before the lock registry: a
 * lock needs one workflow task, when it is taken, and the server terminates it when its rollout closes
 * (locks of still older rollouts need a second one, when cancelled). So the lock worker caches none, and
 * the rare second task replays a lock's few events.
 */
export const lockWorkerTuning: Partial<WorkerOptions> = {
  shutdownGraceTime: '10s',
  maxCachedWorkflows: 0,
  maxConcurrentWorkflowTaskExecutions: 20,
};

/**
 * The two workers a rollout worker process runs on one connection: the rollout's (every workflow and
 * activity, the lock registry included, on the task queue) and the locks' (the lock workflow of older
 * rollouts alone, on its own task queue, see lockTaskQueue). They run and stop together: when one stops, for whatever reason, the other is shut down.
 */
export class RolloutWorkers {
  constructor(
    readonly rollout: Worker,
    readonly locks: Worker,
  ) {}

  async run(): Promise<void> {
    const runs = [this.rollout, this.locks].map((w) => w.run().finally(() => this.shutdown()));
    const ended = await Promise.allSettled(runs);
    const failed = ended.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Starts a graceful shutdown of both; run() resolves once both have stopped. */
  shutdown(): void {
    for (const w of [this.rollout, this.locks]) if (w.getState() === 'RUNNING') w.shutdown();
  }

  getState(): ReturnType<Worker['getState']> {
    return this.rollout.getState();
  }
}

/** Creates the lock worker for `taskQueue` on a connection the rollout worker shares. */
export function createLockWorker(
  options: Pick<WorkerOptions, 'connection' | 'namespace' | 'identity'> & {
    taskQueue: string;
  } & Partial<WorkerOptions>,
): Promise<Worker> {
  const { taskQueue, ...rest } = options;
  return Worker.create({
    ...(rest.workflowBundle || rest.workflowsPath ? {} : workflowSource('locks')),
    ...lockWorkerTuning,
    ...rest,
    taskQueue: lockTaskQueue(taskQueue),
  });
}

/**
 * The composition root: connects to Temporal, builds the real activities from real clients, and
 * registers the workflows, with the lock worker beside them. `activities` may be overridden (tests pass doubles).
 */
export async function createWorker(
  config: TemporalConfig,
  overrides: { activities?: Activities; identity?: string } = {},
): Promise<{ worker: RolloutWorkers; close: () => Promise<void> }> {
  const connectionOptions = { address: config.address, tls: config.tls, apiKey: config.apiKey };
  const native = await NativeConnection.connect(connectionOptions);
  const clientConnection = await Connection.connect(connectionOptions);
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  const identity = overrides.identity ? { identity: overrides.identity } : {};
  const rollout = await Worker.create({
    connection: native,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...identity,
    activities:
      overrides.activities ??
      createActivities({
        temporal: client,
        kube: createKubeFactory(),
        helm: new HelmClient((await findHelm()).path, process.env['KUBECONFIG']),
        files: sourceFilesFromEnv(join(cacheRoot(), 'sources')),
      }),
    ...workflowSource(),
    ...workerTuning,
  });
  const locks = await createLockWorker({
    connection: native,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...identity,
  });
  return {
    worker: new RolloutWorkers(rollout, locks),
    close: async () => {
      await clientConnection.close();
      await native.close();
    },
  };
}

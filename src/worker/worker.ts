import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities/contracts.js';
import { createActivities } from '../activities/index.js';
import { HelmClient } from '../activities/helm.js';
import { createKubeFactory } from '../activities/kube.js';
import { cacheRoot, findTool } from '../tools/find.js';
import { sourceFilesFromEnv } from '../activities/source.js';
import type { TemporalConfig } from '../common/temporal-config.js';

const bundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

/** Where the worker finds workflow code: the prebuilt bundle in production, the sources in development. */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (existsSync(bundlePath)) return { workflowBundle: { codePath: bundlePath } };
  return { workflowsPath: existsSync(workflowsPath) ? workflowsPath : workflowsPath.replace(/\.js$/, '.ts') };
}

/**
 * How the worker is sized: the one set of options production workers and the engine benchmark share, so
 * that what the benchmark measures is what runs. `ROLLOUT_WORKFLOW_CACHE` caps how many workflows the
 * worker keeps in memory (the SDK's default scales with the heap: about 2,300 on a 4 GB heap). A rollout
 * keeps one lock workflow per cluster open, so a cap below the fleet's size trades memory for replays:
 * docs/benchmarks.md has the figures.
 */
export const workerTuning: Partial<WorkerOptions> = {
  shutdownGraceTime: '10s',
  ...(process.env['ROLLOUT_WORKFLOW_CACHE']
    ? { maxCachedWorkflows: Number(process.env['ROLLOUT_WORKFLOW_CACHE']) }
    : {}),
};

/**
 * The composition root: connects to Temporal, builds the real activities from real clients, and
 * registers the workflows. `activities` may be overridden (tests pass doubles).
 */
export async function createWorker(
  config: TemporalConfig,
  overrides: { activities?: Activities; identity?: string } = {},
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const connectionOptions = { address: config.address, tls: config.tls, apiKey: config.apiKey };
  const native = await NativeConnection.connect(connectionOptions);
  const clientConnection = await Connection.connect(connectionOptions);
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  const worker = await Worker.create({
    connection: native,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...(overrides.identity ? { identity: overrides.identity } : {}),
    activities:
      overrides.activities ??
      createActivities({
        temporal: client,
        kube: createKubeFactory(),
        helm: new HelmClient(await helmBinary(), process.env['KUBECONFIG']),
        files: sourceFilesFromEnv(join(cacheRoot(), 'sources')),
      }),
    ...workflowSource(),
    ...workerTuning,
  });
  return {
    worker,
    close: async () => {
      await clientConnection.close();
      await native.close();
    },
  };
}

/** Helm from ROLLOUT_HELM, else the project's tool cache or PATH (`npm run tools` provides it). */
async function helmBinary(): Promise<string> {
  return process.env['ROLLOUT_HELM'] ?? (await findTool('helm')) ?? 'helm';
}

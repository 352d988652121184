import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  type LogEntry,
  type LogLevel,
  type WorkerDeploymentOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import type { Activities } from '../activities/contracts.js';
import { createActivities } from '../activities/index.js';
import { HelmClient } from '../adapters/helm.js';
import { createKubeFactory } from '../adapters/kube.js';
import { diagnoseConnection } from '../common/tls-diagnosis.js';
import { cacheRoot } from '../common/cache-dir.js';
import { findHelm } from '../common/helm-binary.js';
import { sourceFilesFromEnv } from '../adapters/source.js';
import { Credentials } from '../adapters/credentials.js';
import type { TemporalConfig } from '../common/temporal-config.js';
import { bundleFile, bundleSource } from './bundles.js';
import { envValue, workflowCacheSize } from '../common/env.js';
import { activityRunContext } from '../activities/context.js';
import { dataConverter } from '../common/payload-codec.js';
import { RolloutWorkers } from './workers.js';

/**
 * Where a worker finds workflow code: the prebuilt bundle in production (`npm run build` writes it),
 * the sources in development, bundled as the build does.
 */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  const bundlePath = fileURLToPath(new URL(`../${bundleFile}`, import.meta.url));
  if (existsSync(bundlePath)) return { workflowBundle: { codePath: bundlePath } };
  const { workflowsPath, preloadModules } = bundleSource();
  return { workflowsPath, bundlerOptions: { preloadModules } };
}

/**
 * Worker Versioning (ROLLOUT_DEPLOYMENT_NAME and ROLLOUT_BUILD_ID, both or neither): the worker polls as
 * one build of a worker deployment. A rollout, its cluster workflows and its other children are PINNED:
 * they run to their end on the build they started on, so its workers must stay until none runs there
 * (docs/architecture.md has the procedure, and what it says of the registries, which are pinned too for
 * now). Undefined when unversioned.
 */
export function workerDeployment(env: NodeJS.ProcessEnv = process.env): WorkerDeploymentOptions | undefined {
  const deploymentName = envValue('ROLLOUT_DEPLOYMENT_NAME', env);
  const buildId = envValue('ROLLOUT_BUILD_ID', env);
  if (!deploymentName && !buildId) return undefined;
  if (!deploymentName || !buildId) {
    throw new Error(
      'ROLLOUT_DEPLOYMENT_NAME and ROLLOUT_BUILD_ID go together: set both (Worker Versioning) or neither',
    );
  }
  return { useWorkerVersioning: true, version: { deploymentName, buildId }, defaultVersioningBehavior: 'PINNED' };
}

function deploymentOptions(d: WorkerDeploymentOptions | undefined): Partial<WorkerOptions> {
  return d ? { workerDeploymentOptions: d } : {};
}

/**
 * How the worker is sized: the one set of options production workers and the engine benchmark share, so
 * that what the benchmark measures is what runs. `ROLLOUT_WORKFLOW_CACHE` caps how many workflows each of
 * the two SDK workers keeps in memory (the SDK's default scales with the heap: about 2,300 on a 4 GB
 * heap). The cluster queue's keeps a rollout's cluster workflows (up to the phase's maxParallel), the
 * other the rollout itself and the registries. A cap trades memory for replays: docs/benchmarks.md has
 * the figures.
 */
export const workerTuning: Partial<WorkerOptions> = {
  shutdownGraceTime: '10s',
  // Heartbeats reach the server at most a second apart (the SDK's default is 80% of the heartbeat
  // timeout): a cancelled step (abort, rollback) hears of it, and kills its Helm, within about a second.
  maxHeartbeatThrottleInterval: '1s',
  defaultHeartbeatThrottleInterval: '1s',
  ...(workflowCacheSize() !== undefined ? { maxCachedWorkflows: workflowCacheSize() } : {}),
};

/**
 * Logs as one JSON object a line (ROLLOUT_LOG_FORMAT=json, the default when stderr is not a terminal, as
 * under a container runtime): time, level, message, the rollout and cluster a workflow or activity works
 * for (a cluster's workflow ID is ROLLOUT:CLUSTER), the step's activity, then the SDK's own fields.
 */
function jsonLine(entry: LogEntry): void {
  // A task token is a capability to complete the task, and noise in a log: left out.
  const meta = Object.fromEntries(Object.entries(entry.meta ?? {}).filter(([k]) => k !== 'taskToken'));
  const workflowId = typeof meta['workflowId'] === 'string' ? meta['workflowId'] : undefined;
  const [rollout, cluster] = workflowId?.split(':') ?? [];
  const line = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
    ...(rollout ? { rollout } : {}),
    ...(cluster ? { cluster } : {}),
    ...(typeof meta['activityType'] === 'string' ? { step: meta['activityType'] } : {}),
    ...meta,
  };
  process.stderr.write(`${JSON.stringify(line, jsonValue)}\n`);
}

/** What JSON.stringify cannot show by itself: an error's name, message and cause (its own fields are
 * not enumerable, so it would print as {}), and bigints. */
function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) {
    const { name, message, cause } = v;
    return { ...(v as unknown as Record<string, unknown>), name, message, ...(cause ? { cause } : {}) };
  }
  return v;
}

/** ROLLOUT_LOG_FORMAT, or JSON lines when stderr is not a terminal and text when it is. */
function logFormat(): 'json' | 'text' {
  const value = envValue('ROLLOUT_LOG_FORMAT');
  if (value === 'json' || value === 'text') return value;
  if (value) throw new Error(`ROLLOUT_LOG_FORMAT is "${value}": set it to json or text`);
  return process.stderr.isTTY ? 'text' : 'json';
}

/**
 * Installs the SDK's runtime before any connection or worker is made: its logger at `level`
 * (ROLLOUT_LOG_LEVEL, INFO by default) and, with `metricsAddress` (ROLLOUT_METRICS_ADDRESS), a Prometheus
 * endpoint serving the SDK's metrics and the tool's own (workflows/metrics.ts) at `/metrics`.
 */
export function installWorkerLogging(level: LogLevel, metricsAddress?: string, format = logFormat()): void {
  Runtime.install({
    logger: format === 'json' ? new DefaultLogger(level, jsonLine) : new DefaultLogger(level),
    ...(metricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true },
            },
          },
        }
      : {}),
  });
}

/**
 * The composition root: connects to Temporal, builds the real activities from real clients, and
 * registers the workflows on the task queue and its cluster queue (RolloutWorkers). `activities` may be
 * overridden (tests pass doubles).
 */
export async function createWorker(
  config: TemporalConfig,
  overrides: {
    activities?: Activities;
    identity?: string;
    /** Another build's workflow code (the Worker Versioning test's build B). */
    workflows?: Pick<WorkerOptions, 'workflowsPath' | 'bundlerOptions'>;
    deployment?: WorkerDeploymentOptions;
  } = {},
): Promise<{ worker: RolloutWorkers; close: () => Promise<void>; temporalAnswers: () => Promise<void> }> {
  const connectionOptions = { address: config.address, tls: config.tls, apiKey: config.apiKey };
  const native = await NativeConnection.connect(connectionOptions).catch(async (err: unknown) => {
    const why = await diagnoseConnection(config).catch(() => undefined);
    throw why ? new Error(`cannot reach Temporal at ${config.address}: ${why}`, { cause: err }) : err;
  });
  const clientConnection = await Connection.connect(connectionOptions);
  const client = new Client({ connection: clientConnection, namespace: config.namespace, dataConverter });
  const identity = overrides.identity ? { identity: overrides.identity } : {};
  // Read once, before anything polls: a bad file stops the worker with the file and field it names.
  const credentials = overrides.activities ? undefined : Credentials.load(envValue('ROLLOUT_CREDENTIALS'));
  const worker = await RolloutWorkers.create({
    connection: native,
    namespace: config.namespace,
    dataConverter,
    taskQueue: config.taskQueue,
    ...identity,
    activities:
      overrides.activities ??
      createActivities({
        temporal: client,
        kube: createKubeFactory(),
        helm: new HelmClient(
          (await findHelm()).path,
          envValue('KUBECONFIG'),
          activityRunContext,
          credentials ?? Credentials.none(),
        ),
        files: sourceFilesFromEnv(join(cacheRoot(), 'sources'), credentials ?? Credentials.none(), 'refuse'),
        credentials,
      }),
    ...(overrides.workflows ?? workflowSource()),
    ...workerTuning,
    ...deploymentOptions(overrides.deployment ?? workerDeployment()),
  });
  return {
    worker,
    close: async () => {
      await clientConnection.close();
      await native.close();
    },
    // For the readiness probe: one cheap call, bounded, on the worker's own client connection.
    temporalAnswers: async () => {
      await clientConnection.withDeadline(Date.now() + 2_000, () => clientConnection.workflowService.getSystemInfo({}));
    },
  };
}

#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * `rollout-worker`: runs workflows and activities for rollouts. Connection from TEMPORAL_* variables,
 * task queue from ROLLOUT_TASK_QUEUE. SIGINT/SIGTERM shut it down gracefully: running activities get the
 * grace time to finish or are cancelled, and another worker takes over where this one stopped.
 */
import { temporalConfig } from '../common/temporal-config.js';
import { createWorker, installWorkerLogging } from './worker.js';
import { logLevel } from '../common/env.js';

try {
  const config = temporalConfig();
  installWorkerLogging(logLevel());
  const { worker, close } = await createWorker(config);
  console.error(`rollout-worker: polling ${config.taskQueue} on ${config.address} (namespace ${config.namespace})`);
  // Worker.run() installs SIGINT/SIGTERM handlers that start a graceful shutdown.
  await worker.run();
  await close();
  console.error('rollout-worker: stopped');
} catch (err) {
  console.error(`rollout-worker: ${(err as Error).message}`);
  process.exit(1);
}

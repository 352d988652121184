#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * `rollout-worker`: runs workflows and activities for rollouts. Connection from TEMPORAL_* variables,
 * task queue from ROLLOUT_TASK_QUEUE. SIGINT/SIGTERM shut it down gracefully: running activities get the
 * grace time to finish or are cancelled, and another worker takes over where this one stopped.
 */
import { temporalConfig } from '../common/temporal-config.js';
import { createWorker } from './worker.js';
import { installWorkerLogging } from './logging.js';
import { lockTaskQueue } from '../workflows/api.js';

try {
  const config = temporalConfig();
  // ROLLOUT_LOG_LEVEL: TRACE, DEBUG, INFO (default), WARN or ERROR.
  installWorkerLogging(config.taskQueue);
  const { worker, close } = await createWorker(config);
  console.error(
    `rollout-worker: polling ${config.taskQueue} and ${lockTaskQueue(config.taskQueue)} on ${config.address} (namespace ${config.namespace})`,
  );
  // Worker.run() installs SIGINT/SIGTERM handlers that start a graceful shutdown.
  await worker.run();
  await close();
  console.error('rollout-worker: stopped');
} catch (err) {
  console.error(`rollout-worker: ${(err as Error).message}`);
  process.exit(1);
}

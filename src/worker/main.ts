#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=50
/**
 * `rollout-worker`: runs workflows and activities for rollouts. Connection from TEMPORAL_* variables,
 * task queue from ROLLOUT_TASK_QUEUE (it polls that queue and, for cluster workflows, the same name with
 * `-clusters` after it). SIGINT/SIGTERM shut it down gracefully: running activities get the
 * grace time to finish or are cancelled, and another worker takes over where this one stopped.
 */
import { temporalConfig } from '../common/temporal-config.js';
import { createWorker, installWorkerLogging } from './worker.js';
import { envValue, logLevel } from '../common/env.js';
import { parseHealthAddress, startHealthServer } from './health.js';

try {
  const config = temporalConfig();
  const healthAddress = envValue('ROLLOUT_HEALTH_ADDRESS');
  if (healthAddress) parseHealthAddress(healthAddress); // a bad value stops the worker before it connects
  const metricsAddress = envValue('ROLLOUT_METRICS_ADDRESS');
  if (metricsAddress) parseHealthAddress(metricsAddress, 'ROLLOUT_METRICS_ADDRESS');
  installWorkerLogging(logLevel(), metricsAddress);
  if (metricsAddress) console.error(`rollout-worker: metrics on ${metricsAddress} (/metrics)`);
  const { worker, close, temporalAnswers } = await createWorker(config);
  const health = healthAddress
    ? await startHealthServer(healthAddress, {
        state: () => worker.getState(),
        temporalAnswers,
        address: config.address,
      })
    : undefined;
  if (health) console.error(`rollout-worker: probes on ${healthAddress} (/livez, /readyz)`);
  console.error(
    `rollout-worker: polling ${worker.taskQueues.join(' and ')} on ${config.address} (namespace ${config.namespace})`,
  );
  // The SDK's runtime shuts both workers down gracefully on SIGINT/SIGTERM.
  await worker.run();
  await health?.close();
  await close();
  console.error('rollout-worker: stopped');
} catch (err) {
  console.error(`rollout-worker: ${(err as Error).message}`);
  process.exit(1);
}

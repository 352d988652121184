import { DefaultLogger, Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { lockTaskQueue } from '../workflows/api.js';

/** What the SDK warns at startup of a worker that registers no activities. */
const noActivities = 'No activities registered, not polling for activity tasks';

/**
 * The SDK's logger, to stderr, less one warning that is expected: the lock worker runs workflows only, so
 * the SDK's note that it polls no activity tasks tells an operator nothing is wrong. Every other line,
 * the lock worker's included, is logged as the SDK's own logger would.
 */
export class WorkerLogger extends DefaultLogger {
  constructor(
    level: LogLevel,
    private readonly lockQueues: string[],
    logFunction?: ConstructorParameters<typeof DefaultLogger>[1],
  ) {
    super(level, logFunction);
  }

  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (message === noActivities && this.lockQueues.includes(String(meta?.['taskQueue']))) return;
    super.log(level, message, meta);
  }
}

/** Installs the worker's logging, before any connection or worker is made: ROLLOUT_LOG_LEVEL, INFO by default. */
export function installWorkerLogging(taskQueue: string): void {
  const level = (process.env['ROLLOUT_LOG_LEVEL'] ?? 'INFO') as LogLevel;
  Runtime.install({ logger: new WorkerLogger(level, [lockTaskQueue(taskQueue)]) });
}

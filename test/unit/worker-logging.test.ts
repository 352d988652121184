import type { LogEntry } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WorkerLogger } from '../../src/worker/logging.js';

describe("the worker's logger", () => {
  it("drops only the lock worker's expected warning that it polls no activities", () => {
    const lines: string[] = [];
    const logger = new WorkerLogger('INFO', ['q-locks'], (e: LogEntry) =>
      lines.push(`${e.level} ${String(e.meta?.['taskQueue'])} ${e.message}`),
    );
    const warning = 'No activities registered, not polling for activity tasks';
    logger.warn(warning, { taskQueue: 'q-locks' });
    logger.warn(warning, { taskQueue: 'q' });
    logger.warn('Worker state changed', { taskQueue: 'q-locks' });
    logger.debug('below the level', { taskQueue: 'q' });
    expect(lines).toEqual([`WARN q ${warning}`, 'WARN q-locks Worker state changed']);
  });
});

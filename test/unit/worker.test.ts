import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { LogEntry } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workerNodeFlags } from '../../src/worker/heap.js';
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

describe('rollout-worker', () => {
  it("starts Node with the worker's flags, which this Node accepts and applies", () => {
    const main = readFileSync(new URL('../../src/worker/main.ts', import.meta.url), 'utf8');
    const shebang = `#!/usr/bin/env -S node ${workerNodeFlags.join(' ')}`;
    expect(main.split('\n')[0]).toBe(shebang);
    const run = spawnSync(
      '/usr/bin/env',
      ['-S', `node ${workerNodeFlags.join(' ')} -p process.execArgv.slice(0,-2).join()`],
      {
        encoding: 'utf8',
      },
    );
    expect([run.status, run.stdout.trim()]).toEqual([0, workerNodeFlags.join()]);
  });
});

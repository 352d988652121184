import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { workerNodeFlags } from '../../src/worker/heap.js';

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

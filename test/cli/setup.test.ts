/**
 * `rollout setup` against a Temporal server that starts as a self-hosted one does, without the rollout's
 * search attributes: `start` says what to run instead of a bare ServiceError, setup registers them and says
 * so, a second setup changes nothing, and start then goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../src/tools/dev-server.js';
import { indexedType, rolloutSearchAttributes } from '../../src/common/search-attributes.js';
import { rolloutCli } from '../helpers/cli.js';

let server: DevServer;
const env = () => ({ TEMPORAL_ADDRESS: server.address, ROLLOUT_TASK_QUEUE: 'setup-test' });

beforeAll(async () => {
  server = await startDevServer({ ui: false, searchAttributes: false });
});
afterAll(async () => {
  await server?.stop();
});

describe('rollout setup', { timeout: 120_000 }, () => {
  it('registers the search attributes once; start before it names the command to run', async () => {
    const before = await rolloutCli(['start', 'rollout-plans/lab.yaml', '--id', 'setup-1', '--wait', '1'], env());
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(
      /^namespace default lacks the search attributes rollouts use \(.*search attribute \w+\): run rollout setup once for the namespace, then start again$/m,
    );

    const first = await rolloutCli(['setup'], env());
    expect(first.code, first.stderr).toBe(0);
    const names = rolloutSearchAttributes.map((k) => k.name);
    expect(first.stdout.trim()).toBe(
      `namespace default: registered ${rolloutSearchAttributes.map((k) => `${k.name} (${indexedType(k).name})`).join(', ')}`,
    );
    const again = await rolloutCli(['setup', '-o', 'json'], env());
    expect(JSON.parse(again.stdout)).toEqual({ namespace: 'default', registered: [], present: names });

    // What the server holds, read with the SDK rather than the CLI.
    const connection = await Connection.connect({ address: server.address });
    try {
      const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const k of rolloutSearchAttributes)
        expect(listed.customAttributes?.[k.name], k.name).toBe(indexedType(k).value);
    } finally {
      await connection.close();
    }

    // Now start goes through to the point of waiting for a worker (there is none on this server).
    const after = await rolloutCli(['start', 'rollout-plans/lab.yaml', '--id', 'setup-2', '--wait', '1'], env());
    expect(after.stderr).toContain('no worker has taken it up');
  });
});

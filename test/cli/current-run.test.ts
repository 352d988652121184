/**
 * The CLI's reads of a rollout that continues as new while it is asked. A query that reaches a run while
 * its last workflow task is open waits for that task, and Temporal then sends it to the run, closed by
 * then, which a worker must replay whole to answer (14 to 20 s at 10,000 clusters under load). Here no
 * worker polls the closed run's queue any more, so without the CLI's look for a newer run the read waits
 * until the server gives up on it (about 30 s here).
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queryCurrentRun } from '../../src/cli/current-run.js';
import { closeSignal, continuing, runQuery } from '../fixtures/workflows/continuing.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
let code: string;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  const workflowsPath = new URL('../fixtures/workflows/continuing.ts', import.meta.url).pathname;
  code = (await bundleWorkflowCode({ workflowsPath, logger: quiet })).code;
});
afterAll(async () => {
  await env?.teardown();
});

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a query of a rollout that continues as new meanwhile', () => {
  it('is answered by the newer run', async () => {
    const [queueA, queueB] = [`run-a-${randomUUID()}`, `run-b-${randomUUID()}`];
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const worker = (taskQueue: string, holdOpen: () => Promise<void>) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: { code },
        activities: { holdOpen },
      });
    const first = await worker(queueA, async () => {
      opened();
      await released;
    });
    const next = await worker(queueB, () => Promise.resolve());
    const running = [first.run(), next.run()];
    const workflowId = `continuing-${randomUUID()}`;
    try {
      const handle = await env.client.workflow.start(continuing, {
        taskQueue: queueA,
        workflowId,
        args: [{ run: 1, nextQueue: queueB }],
      });
      expect(await handle.query(runQuery)).toBe(1);
      await handle.signal(closeSignal);
      await open; // the first run's last workflow task is open
      const { runId } = await handle.describe();
      const answer = queryCurrentRun(env.client, workflowId, runId, runQuery);
      // Time for the query to reach the server while that task is open (nothing shows that it has; sent
      // later, it would reach the newer run and pass without the look: it failed without it here).
      await sleep(500);
      // The first run's worker stops taking tasks once this one is done: nothing will replay that run.
      first.shutdown();
      release();
      expect(await answer).toBe(2);
      const { runId: latest } = await handle.describe();
      expect(latest).not.toBe(runId);
      // What the CLI asked first is still unanswered (or refused): the closed run has no worker.
      const stale = env.client.workflow
        .getHandle(workflowId, runId)
        .query(runQuery)
        .catch((err: unknown) => `failed: ${String(err)}`);
      expect(await Promise.race([stale, sleep(2_500).then(() => 'unanswered')])).not.toBe(1);
    } finally {
      for (const w of [first, next]) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await env.client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
  });
});

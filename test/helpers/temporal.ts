import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Activities } from '../../src/activities/contracts.js';
import { createLockActivities } from '../../src/activities/locks.js';
import type { RolloutInput, RolloutStatus } from '../../src/domain/types.js';
import { statusQuery } from '../../src/workflows/definitions.js';
import { rollout } from '../../src/workflows/rollout.js';
import { createLockWorker } from '../../src/worker/worker.js';

// Workers log only warnings and errors, so a failing test's output shows what matters.
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** A client and workers against the shared real dev server; each test file gets its own task queue. */
export class TemporalTestEnv {
  readonly taskQueue = `test-${randomUUID()}`;
  private workers: { worker: Worker; locks: Worker; running: Promise<unknown> }[] = [];
  private constructor(private readonly sdk: TestWorkflowEnvironment) {}

  get client(): Client {
    return this.sdk.client;
  }

  /** The SDK's test environment on the shared dev server (started once by the global setup). */
  static async create(): Promise<TemporalTestEnv> {
    return new TemporalTestEnv(
      await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') }),
    );
  }

  /**
   * Starts a worker with the given activity doubles (plus the real lock lookup), and the lock worker beside
   * it as the product runs them, replacing any running pair. Stopping the returned worker stops both.
   */
  async startWorker(activities: Activities): Promise<Worker> {
    for (const w of [...this.workers]) await this.stopWorker(w.worker);
    const worker = await Worker.create({
      connection: this.sdk.nativeConnection,
      taskQueue: this.taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: { ...activities, ...createLockActivities(this.client) },
      shutdownGraceTime: '1s',
    });
    const locks = await createLockWorker({
      connection: this.sdk.nativeConnection,
      taskQueue: this.taskQueue,
      workflowBundle: { codePath: inject('lockBundlePath') },
      shutdownGraceTime: '1s',
    });
    const running = Promise.all([worker.run(), locks.run()]);
    this.workers.push({ worker, locks, running });
    return worker;
  }

  async stopWorker(worker: Worker): Promise<void> {
    const entry = this.workers.find((w) => w.worker === worker);
    for (const w of [worker, entry?.locks]) if (w?.getState() === 'RUNNING') w.shutdown();
    await entry?.running;
    this.workers = this.workers.filter((w) => w !== entry);
  }

  async start(input: RolloutInput, id = `rollout-test-${randomUUID()}`): Promise<WorkflowHandle<typeof rollout>> {
    return this.client.workflow.start(rollout, { taskQueue: this.taskQueue, workflowId: id, args: [input] });
  }

  async close(): Promise<void> {
    for (const w of [...this.workers]) await this.stopWorker(w.worker);
    await this.sdk.teardown();
  }
}

/** Polls the status query until `pred` holds (queries cost no history), or fails after `ms`. */
export async function waitForStatus(
  handle: WorkflowHandle,
  pred: (s: RolloutStatus) => boolean,
  ms = 30_000,
): Promise<RolloutStatus> {
  const deadline = Date.now() + ms;
  let last: RolloutStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last, null, 1)}`);
}

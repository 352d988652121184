import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { RolloutWorkers } from '../../src/worker/workers.js';
import { inject } from 'vitest';
import type { Activities } from '../../src/activities/contracts.js';
import { createRegistryActivities } from '../../src/client/registries.js';
import { createFence, withFence } from '../../src/activities/fence.js';
import type { RolloutInput, RolloutStatus } from '../../src/domain/types.js';
import { statusQuery } from '../../src/workflows/definitions.js';
import { rollout } from '../../src/workflows/rollout.js';
import { dataConverter } from '../../src/common/payload-codec.js';

// Workers log only warnings and errors, so a failing test's output shows what matters.
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** A client and workers against the shared real dev server; each test file gets its own task queue. */
export class TemporalTestEnv {
  readonly taskQueue = `test-${randomUUID()}`;
  private workers: { worker: RolloutWorkers; running: Promise<unknown> }[] = [];
  private constructor(private readonly sdk: TestWorkflowEnvironment) {}

  get client(): Client {
    return this.sdk.client;
  }

  /** The SDK's test environment on the shared dev server (started once by the global setup). */
  static async create(): Promise<TemporalTestEnv> {
    return new TemporalTestEnv(
      await TestWorkflowEnvironment.createFromExistingServer({
        address: inject('temporalAddress'),
        client: { dataConverter },
      }),
    );
  }

  /**
   * Starts a worker with the given activity doubles (plus the real lock registry's), replacing any running
   * one: as `rollout-worker`, one SDK worker on the test's task queue and one on its cluster queue.
   */
  async startWorker(activities: Activities): Promise<RolloutWorkers> {
    for (const w of [...this.workers]) await this.stopWorker(w.worker);
    const worker = await RolloutWorkers.create({
      connection: this.sdk.nativeConnection,
      taskQueue: this.taskQueue,
      dataConverter,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      // As the worker composes them: the registries' activities are real, and mutating steps are fenced.
      activities: withFence({ ...activities, ...createRegistryActivities(this.client) }, createFence(this.client)),
      shutdownGraceTime: '1s',
    });
    const running = worker.run();
    this.workers.push({ worker, running });
    return worker;
  }

  async stopWorker(worker: RolloutWorkers): Promise<void> {
    const entry = this.workers.find((w) => w.worker === worker);
    worker.shutdown();
    await entry?.running;
    this.workers = this.workers.filter((w) => w !== entry);
  }

  async start(
    input: RolloutInput,
    id = `rollout-test-${randomUUID()}`,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof rollout>> {
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

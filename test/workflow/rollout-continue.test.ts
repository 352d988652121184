/**
 * A rollout whose history reaches its budget continues as a new run, carrying where it stood: the next
 * run starts the clusters left, holds the same clusters in the lock registry, and a rollback restores
 * clusters rolled by earlier runs. Here with a budget of a few hundred events instead of 9,000, so that
 * tens of clusters take several runs. And a wide phase starts its clusters a burst at a time.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsPerCluster, eventsPerEnd, launchBurst, launchRoom } from '../../src/domain/progress.js';
import { heldClusters } from '../../src/domain/locks.js';
import { abortUpdate, lockRegistryId, locksQuery, retryUpdate, statusQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';
import { rolloutSummary } from '../../src/domain/summary.js';

/** Temporal's own query of a workflow's definitions and current details (what the Web UI reads). */
const metadataQuery = '__temporal_workflow_metadata';

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

const budget = 200;

/** Every run of a workflow ID, oldest first, with its history's length and how it closed. */
async function runsOf(workflowId: string) {
  const runs: { runId: string; status: string; events: number; rollbacks: number }[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const events = (await env.client.workflow.getHandle(workflowId, wf.runId).fetchHistory()).events ?? [];
    const rollbacks = events.filter(
      (e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'clusterRollback',
    ).length;
    runs.push({ runId: wf.runId, status: wf.status.name, events: events.length, rollbacks });
  }
  return runs.reverse();
}

const latestRun = (runs: { runId: string }[]) => runs.at(-1)?.runId;

describe('launchRoom', () => {
  it('gives the clusters whose start and end fit in the budget, the ends of those in flight kept, never below zero', () => {
    const each = eventsPerCluster + eventsPerEnd;
    expect(launchRoom(0, 0, 9_000)).toBe(Math.floor(9_000 / each));
    expect(launchRoom(8_400, 40, 9_000)).toBe(Math.floor((600 - 40 * eventsPerEnd) / each));
    expect(launchRoom(8_400, 600 / eventsPerEnd, 9_000)).toBe(0);
    expect(launchRoom(9_500, 0, 9_000)).toBe(0);
  });
});

describe('a rollout past its history budget', () => {
  it('continues as new runs that finish it, each under the budget, holding its clusters throughout', async () => {
    const x = `can${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 60 }, (_, i) => `${x}-c${i + 1}`);
    const fleet = new FakeFleet([...names, `${x}-other`]);
    // The last cluster waits, so that a second rollout can be refused it by a later run.
    const release = fleet.hold(names.at(-1) as string, 'cache');
    await env.startWorker(fleet.activities());
    const input = {
      ...testInput([
        { name: 'canary', clusters: names.slice(0, 5), approval: 'auto' },
        { name: 'wave', clusters: names.slice(5), approval: 'auto', maxParallel: 8 },
      ]),
      historyBudget: budget,
    };
    const handle = await env.start(input);
    await waitForStatus(handle, (s) => s.clusters.filter((c) => c.state === 'succeeded').length === 59, 60_000);
    const { runId: latest } = await handle.describe();
    expect(latest).not.toBe(handle.firstExecutionRunId);
    // Temporal does not carry the static summary to a continued run: its Web UI details say what it rolls.
    type Metadata = { currentDetails?: string };
    const details = async (runId?: string) =>
      (await env.client.workflow.getHandle(handle.workflowId, runId).query<Metadata>(metadataQuery)).currentDetails;
    expect(await details()).toContain(rolloutSummary(input));
    expect(await details(handle.firstExecutionRunId)).not.toContain(rolloutSummary(input));

    // The lock registry still lists the clusters as the rollout's (by its first run): another rollout is refused.
    const registry = env.client.workflow.getHandle(lockRegistryId(env.taskQueue));
    const held = heldClusters(await registry.query(locksQuery), [names[0] as string]);
    expect(held.map((h) => [h.rollout, h.runId])).toEqual([[handle.workflowId, handle.firstExecutionRunId]]);
    const other = await env.start(testInput([{ name: 'all', clusters: [names[0] as string], approval: 'auto' }]));
    const err = await other.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as Error).message).toBe(
      `clusters already taken by another running rollout: ${names[0]} (held by ${handle.workflowId})`,
    );

    release();
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    expect(result.clusters.map((c) => c.state)).toEqual(Array(60).fill('succeeded'));
    // Each cluster rolled once, whichever run started it.
    for (const c of names) {
      expect(fleet.callsFor(c).filter((call) => call.activity === 'upgradeRelease')).toHaveLength(2);
    }
    const status = await handle.query(statusQuery);
    expect(new Set(status.clusters.map((c) => c.seq)).size).toBe(60);
    expect(status.phases.map((p) => p.state)).toEqual(['succeeded', 'succeeded']);

    // Several runs, each under its budget (and the room kept for clusters in flight at its end).
    const runs = await runsOf(handle.workflowId);
    // At least two: 60 clusters cost at least 4 events each (a child's three, the snapshot's marker),
    // over the budget of one run; how many more depends on how the worker's tasks batch their events.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.slice(0, -1).map((r) => r.status)).toEqual(Array(runs.length - 1).fill('CONTINUED_AS_NEW'));
    expect(runs.at(-1)?.status).toBe('COMPLETED');
    expect(Math.max(...runs.map((r) => r.events))).toBeLessThanOrEqual(budget + 30);

    // Given back as it closed: the other rollout can take the cluster now; `rollout list` shows it once.
    const again = await env.start(testInput([{ name: 'all', clusters: [names[0] as string], approval: 'auto' }]));
    expect((await again.result()).state).toBe('succeeded');
    const listed = [];
    for await (const wf of env.client.workflow.list({
      query: `WorkflowId = '${handle.workflowId}' AND ExecutionStatus != 'ContinuedAsNew'`,
    }))
      listed.push(wf.runId);
    expect(listed).toEqual([latestRun(runs)]);
  });

  it('rolls back, after a failure, clusters that earlier runs rolled, continuing as new as it restores them', async () => {
    const x = `canrb${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 40 }, (_, i) => `${x}-c${i + 1}`);
    const fleet = new FakeFleet(names);
    fleet.fail(names.at(-1) as string, 'chart');
    await env.startWorker(fleet.activities());
    const handle = await env.start({
      ...testInput(
        [
          { name: 'canary', clusters: names.slice(0, 4), approval: 'auto' },
          { name: 'wave', clusters: names.slice(4), approval: 'auto', maxParallel: 6 },
        ],
        { onFailure: { action: 'rollback', rollbackScope: 'all', rollbackTimeout: '5s' } },
      ),
      // Under what 40 rollbacks cost at least (a child's three events each), so the restore takes two runs.
      historyBudget: 100,
    });
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    // The restore itself went on in more than one run, each under its budget.
    const runs = await runsOf(handle.workflowId);
    expect(runs.filter((r) => r.rollbacks > 0).length).toBeGreaterThan(1);
    expect(runs.reduce((n, r) => n + r.rollbacks, 0)).toBe(40);
    expect(Math.max(...runs.map((r) => r.events))).toBeLessThanOrEqual(100 + 30);
    // Every cluster is back where it was, the canary's (rolled by the first run) included.
    for (const c of names) {
      expect(fleet.releases.get(c)).toMatchObject({ operator: { version: '1.0.0' }, chart: { version: '2.0.0' } });
    }
  });
});

describe('clusters in flight as the rollout continues as new', () => {
  /** The cluster's record, and how Temporal describes its workflow: who started it, whether it runs. */
  async function clusterRun(handle: Awaited<ReturnType<typeof env.start>>, name: string) {
    const record = (await handle.query(statusQuery)).clusters.find((c) => c.name === name);
    const wf = await env.client.workflow.getHandle(record?.workflowId ?? '').describe();
    return { record, status: wf.status.name, parentRunId: wf.parentExecution?.runId };
  }

  it('are taken over by the next run, which goes on starting the rest: the wave does not drain first', async () => {
    const x = `adopt${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 40 }, (_, i) => `${x}-c${i + 1}`);
    const [held, failing] = [names[1], names[2]] as [string, string];
    const fleet = new FakeFleet(names);
    const releaseHeld = fleet.hold(held, 'cache');
    const releaseFailing = fleet.hold(failing, 'cache');
    fleet.fail(failing, 'chart', 1);
    await env.startWorker(fleet.activities());
    const handle = await env.start({
      ...testInput([{ name: 'wave', clusters: names, approval: 'auto', maxParallel: 6 }]),
      historyBudget: 150,
    });
    // Two of six held in flight from the first run's start: the others all finish, over several runs.
    await waitForStatus(handle, (s) => s.clusters.filter((c) => c.state === 'succeeded').length === 38, 60_000);
    // At least one change of run while both were held (how many depends on how the worker batches tasks).
    const runs = await runsOf(handle.workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.slice(0, -1).map((r) => r.status)).toEqual(Array(runs.length - 1).fill('CONTINUED_AS_NEW'));
    // Still the first run's children, still running, followed by the latest run.
    for (const name of [held, failing]) {
      const run = await clusterRun(handle, name);
      expect(run.record).toMatchObject({ state: 'running', attempts: 1 });
      expect(run.status).toBe('RUNNING');
      expect(run.parentRunId).toBe(handle.firstExecutionRunId);
    }

    // A failure of a cluster taken over reaches the run that took it over, with its step and error.
    releaseFailing();
    const failed = await waitForStatus(handle, (s) =>
      s.clusters.some((c) => c.name === failing && c.state === 'failed'),
    );
    expect(failed.state).toBe('awaiting-decision');
    expect(failed.clusters.find((c) => c.name === failing)).toMatchObject({
      failedStep: 'upgrade-chart',
      error: `upgrade-chart failed: injected failure of chart on ${failing}`,
    });
    await handle.executeUpdate(retryUpdate, { args: [{ cluster: failing, by: 'tester' }] });
    releaseHeld();
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    expect(result.clusters.map((c) => c.state)).toEqual(Array(40).fill('succeeded'));
    // Each cluster's chart upgraded once, whichever run started or followed it (the failing one twice).
    for (const c of names) {
      const upgrades = fleet.callsFor(c).filter((call) => call.activity === 'upgradeRelease' && call.role === 'chart');
      expect(upgrades).toHaveLength(c === failing ? 2 : 1);
    }
    expect((await clusterRun(handle, held)).status).toBe('COMPLETED');
  });

  it('are cancelled by an abort in a later run, by their workflow IDs, and restored', async () => {
    const x = `adoptab${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 24 }, (_, i) => `${x}-c${i + 1}`);
    const held = names[0] as string;
    const fleet = new FakeFleet(names);
    fleet.hold(held, 'cache'); // never released
    await env.startWorker(fleet.activities());
    const handle = await env.start({
      ...testInput([{ name: 'wave', clusters: names, approval: 'auto', maxParallel: 4 }]),
      historyBudget: 120,
    });
    await waitForStatus(handle, (s) => s.clusters.filter((c) => c.state === 'succeeded').length === 23, 60_000);
    expect((await runsOf(handle.workflowId)).length).toBeGreaterThanOrEqual(2);
    const before = await clusterRun(handle, held);
    expect(before.parentRunId).toBe(handle.firstExecutionRunId);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'wrong build' }] });
    const result = await handle.result();
    expect(result.state).toBe('aborted');
    expect(result.clusters.find((c) => c.name === held)?.state).toBe('rolled-back');
    const wf = await env.client.workflow.getHandle(before.record?.workflowId ?? '').describe();
    expect(wf.status.name).toBe('CANCELLED');
    // Its operator had been upgraded: back where it was.
    expect(fleet.releases.get(held)).toMatchObject({ operator: { version: '1.0.0' }, chart: { version: '2.0.0' } });
  });
});

describe('a wide phase', () => {
  it(`starts its clusters ${launchBurst} to a workflow task, so that queries are answered between bursts`, async () => {
    const x = `wide${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 130 }, (_, i) => `${x}-c${i + 1}`);
    await env.startWorker(new FakeFleet(names).activities());
    const handle = await env.start(testInput([{ name: 'wave', clusters: names, approval: 'auto', maxParallel: 130 }]));
    const result = await handle.result();
    expect(result.clusters.map((c) => c.state)).toEqual(Array(130).fill('succeeded'));
    // Clusters started by each workflow task: a task's commands follow its completion in the history.
    const perTask: number[] = [];
    for (const e of (await handle.fetchHistory()).events ?? []) {
      if (e.workflowTaskCompletedEventAttributes) perTask.push(0);
      else if (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'clusterRollout') {
        perTask[perTask.length - 1] = (perTask.at(-1) ?? 0) + 1;
      }
    }
    expect(perTask.reduce((a, b) => a + b, 0)).toBe(130);
    expect(Math.max(...perTask)).toBe(launchBurst);
    expect(perTask.filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
  });
});

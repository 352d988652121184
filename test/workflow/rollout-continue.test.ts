/**
 * A rollout whose history reaches its budget continues as a new run, carrying where it stood: the next
 * run starts the clusters left, holds the same clusters in the lock registry, and a rollback restores
 * clusters rolled by earlier runs. Here with a budget of a few hundred events instead of 9,000, so that
 * tens of clusters take several runs. And a wide phase starts its clusters a burst at a time.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsPerCluster, launchBurst, launchRoom } from '../../src/domain/progress.js';
import { heldClusters } from '../../src/domain/locks.js';
import { lockRegistryId, locksQuery, statusQuery } from '../../src/workflows/definitions.js';
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
  it('gives the clusters that fit in the budget less those in flight, never below zero', () => {
    expect(launchRoom(0, 0, 9_000)).toBe(Math.floor(9_000 / eventsPerCluster));
    expect(launchRoom(8_400, 40, 9_000)).toBe(600 / eventsPerCluster - 40);
    expect(launchRoom(8_400, 600 / eventsPerCluster, 9_000)).toBe(0);
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

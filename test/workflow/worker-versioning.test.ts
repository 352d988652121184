/**
 * Upgrading the worker while rollouts run, with Temporal's Worker Versioning on a real dev server: a
 * rollout started on build A stays on A to its end, while a rollout started after build B became the
 * deployment's current version runs B's changed code; the first's wave, wider than one run's history
 * budget, continues as new on A after B is current, its cluster workflows too. Workers are made by `createWorker`, as
 * `rollout-worker` makes them with ROLLOUT_DEPLOYMENT_NAME and ROLLOUT_BUILD_ID; activities are doubled.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { RolloutWorkers } from '../../src/worker/workers.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRegistryActivities } from '../../src/client/registries.js';
import { createFence, withFence } from '../../src/activities/fence.js';
import type { RolloutInput } from '../../src/domain/types.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import { createWorker, workerDeployment } from '../../src/worker/worker.js';
import { approveUpdate, lockRegistryId } from '../../src/workflows/definitions.js';
import { rollout } from '../../src/workflows/rollout.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { waitForStatus } from '../helpers/temporal.js';
import { dataConverter } from '../../src/common/payload-codec.js';

const exec = promisify(execFile);
const x = `v${randomBytes(3).toString('hex')}`;
const taskQueue = `versioning-${x}`;
const deploymentName = `rollout-${x}`;
let connection: Connection;
let client: Client;
let temporal = '';
const running: { buildId: string; worker: RolloutWorkers; run: Promise<unknown>; close: () => Promise<void> }[] = [];

/** The stock CLI against the test server. */
const cli = (...args: string[]) => exec(temporal, [...args, '--address', inject('temporalAddress')]);

async function startBuild(buildId: string, fleet: FakeFleet, workflows?: string): Promise<void> {
  const env = { ROLLOUT_DEPLOYMENT_NAME: deploymentName, ROLLOUT_BUILD_ID: buildId };
  const { worker, close } = await createWorker(
    { address: inject('temporalAddress'), namespace: 'default', taskQueue },
    {
      activities: withFence({ ...fleet.activities(), ...createRegistryActivities(client) }, createFence(client)),
      deployment: workerDeployment(env),
      ...(workflows
        ? { workflows: { workflowsPath: workflows, bundlerOptions: { preloadModules: [workflows] } } }
        : {}),
    },
  );
  running.push({ buildId, worker, run: worker.run(), close });
}

/** Makes `buildId` the deployment's current version once the server has seen its workers poll. */
async function makeCurrent(buildId: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await cli(
        'worker',
        'deployment',
        'set-current-version',
        '--deployment-name',
        deploymentName,
        '--build-id',
        buildId,
        '--yes',
      );
      return;
    } catch (err) {
      if (i > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The builds that completed a workflow's tasks (its latest run's, or `runId`'s), from its history. */
async function buildsOf(workflowId: string, runId?: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const builds = (history.events ?? [])
    .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId)
    .filter((b): b is string => !!b);
  return [...new Set(builds)];
}

/** Every run of a workflow ID, oldest first. */
async function runsOf(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.runId);
  return runs.reverse();
}

/** The cluster workflows a run of a rollout started. */
async function childrenOf(workflowId: string, runId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
    return child?.workflowType?.name === 'clusterRollout' && child.workflowId ? [child.workflowId] : [];
  });
}

beforeAll(async () => {
  temporal = await ensureTool('temporal');
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, dataConverter });
});

afterAll(async () => {
  for (const r of running) {
    r.worker.shutdown();
    await r.run.catch(() => undefined);
    await r.close();
  }
  await connection?.close();
});

describe('upgrading the worker while a rollout runs (Worker Versioning)', { timeout: 120_000 }, () => {
  it('a rollout started on build A finishes on A; one started after B is current runs B; both succeed', async () => {
    const clusters = [`${x}-c1`, `${x}-c2`, `${x}-c3`, `${x}-c4`];
    // The first rollout's wave is too wide for one run's history budget: it continues as new after B is current.
    const wide = Array.from({ length: 40 }, (_, i) => `${x}-w${i + 1}`);
    const fleet = new FakeFleet([...clusters, ...wide]);
    await startBuild('a', fleet);
    await makeCurrent('a');
    const gated = (cs: string[]): RolloutInput =>
      testInput([
        { name: 'canary', clusters: [cs[0] as string], approval: 'auto' },
        { name: 'wave', clusters: cs.slice(1), approval: 'required', maxParallel: 8 },
      ]);
    const first = await client.workflow.start(rollout, {
      taskQueue,
      workflowId: `${x}-first`,
      args: [{ ...gated([...clusters.slice(0, 2), ...wide]), historyBudget: 200 }],
    });
    await waitForStatus(first, (s) => s.state === 'awaiting-approval');

    // Build B deployed: its workflow code differs; it becomes current while the first rollout waits.
    await startBuild('b', fleet, fileURLToPath(new URL('../fixtures/build-b/workflows.ts', import.meta.url)));
    await makeCurrent('b');
    const second = await client.workflow.start(rollout, {
      taskQueue,
      workflowId: `${x}-second`,
      args: [gated(clusters.slice(2, 4))],
    });
    await waitForStatus(second, (s) => s.state === 'awaiting-approval');

    for (const h of [first, second]) await h.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice' }] });
    expect((await first.result()).state).toBe('succeeded');
    expect((await second.result()).state).toBe('succeeded');
    expect(await buildsOf(first.workflowId), 'the first stayed pinned to A').toEqual(['a']);
    // ...in every run: a pinned rollout continues as new on its own build, and so do the cluster
    // workflows each run starts, B current or not.
    const firstRuns = await runsOf(first.workflowId);
    expect(firstRuns.length).toBeGreaterThanOrEqual(2);
    for (const runId of firstRuns) {
      expect(await buildsOf(first.workflowId, runId)).toEqual(['a']);
      const children = await childrenOf(first.workflowId, runId);
      expect(children.length).toBeGreaterThan(0);
      expect(await buildsOf(children.at(-1) as string)).toEqual(['a']);
    }
    expect(await buildsOf(second.workflowId)).toEqual(['b']);
    // B's code ran: its extra timer is in the second rollout's history, not in the first's.
    const timers = async (id: string) =>
      ((await client.workflow.getHandle(id).fetchHistory()).events ?? []).filter((e) => e.timerStartedEventAttributes)
        .length;
    expect(await timers(second.workflowId)).toBeGreaterThan(await timers(first.workflowId));
    // The cluster workflows a rollout starts stay on its build too.
    expect(await buildsOf(`${x}-first:${clusters[1]}`)).toEqual(['a']);
    expect(await buildsOf(`${x}-second:${clusters[3]}`)).toEqual(['b']);

    // The lock registry never ends: started on A by the first rollout, it moved to B once B was current.
    expect(await buildsOf(lockRegistryId(taskQueue))).toEqual(['a', 'b']);
    // With build A's workers gone, a new rollout still takes its clusters from the registry and finishes.
    for (const r of running.filter((r) => r.buildId === 'a')) {
      r.worker.shutdown();
      await r.run;
    }
    const third = await client.workflow.start(rollout, {
      taskQueue,
      workflowId: `${x}-third`,
      args: [testInput([{ name: 'canary', clusters: [clusters[0] as string], approval: 'auto' }])],
    });
    expect((await third.result()).state).toBe('succeeded');
    expect(await buildsOf(third.workflowId)).toEqual(['b']);
  });
});

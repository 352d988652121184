import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abortUpdate,
  acceptUpdate,
  approveUpdate,
  retryUpdate,
  startedUpdate,
  statusQuery,
} from '../../src/workflows/definitions.js';
import { RolloutStateKey } from '../../src/common/search-attributes.js';
import type { temporal } from '@temporalio/proto';
import { fetchStatus, liveReadsMax } from '../../src/cli/status.js';
import { renderStatus, type LiveCluster } from '../../src/cli/render.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { clusterNames } from '../helpers/names.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

const rollbackPlan = (c1: string, c2: string) =>
  testInput(
    [
      { name: 'canary', clusters: [c1], approval: 'auto' },
      { name: 'wave', clusters: [c2], approval: 'required' },
    ],
    { onFailure: { action: 'rollback', rollbackScope: 'phase', rollbackTimeout: '5s' } },
  );

/** The reason an update was refused, or 'accepted'. */
async function refusal(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof WorkflowUpdateFailedError ? (e.cause?.message ?? e.message) : String(e)),
  );
}

describe('rollout faults', () => {
  it('waits for a person when a rollback cannot finish; retry rolls the cluster back again', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    fleet.fail(c1, 'verify-chart', Infinity, '3.0.0');
    fleet.fail(c1, 'rollback', 1);
    await env.startWorker(fleet.activities());
    const handle = await env.start(rollbackPlan(c1, c2));

    const stuck = await waitForStatus(handle, (s) => s.clusters[0]?.state === 'rollback-failed');
    expect(stuck.state).toBe('awaiting-decision');
    expect(stuck.finishedAt).toBeUndefined();
    expect(stuck.reason).toMatch(new RegExp(`rollback could not finish on ${c1} .*rollout retry .* --cluster NAME`));
    expect(stuck.clusters[0]?.error).toMatch(/rollback failed: .*injected failure of rollback/);
    expect(fleet.releases.get(c1)?.chart?.version).toBe('3.0.0');
    // Nothing but a decision on the stuck cluster counts now.
    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'ann' }] }))).toMatch(
      /is rolling back/,
    );
    expect(await refusal(handle.executeUpdate(abortUpdate, { args: [{ by: 'ann', reason: 'x' }] }))).toMatch(
      /is rolling back/,
    );
    expect(await refusal(handle.executeUpdate(retryUpdate, { args: [{ cluster: c2, by: 'ann' }] }))).toMatch(
      /is pending, not failed|is rolling back/,
    );

    await handle.executeUpdate(retryUpdate, { args: [{ cluster: c1, by: 'ann', comment: 'cluster is back' }] });
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    expect(result.clusters[0]).toMatchObject({ name: c1, state: 'rolled-back' });
    expect(fleet.releases.get(c1)).toMatchObject({ chart: { version: '2.0.0' }, operator: { version: '1.0.0' } });
    const status = await handle.query(statusQuery);
    expect(status.clusters[0]?.rollbackAttempts).toBe(2);
    expect(status.decisions.map((d) => `${d.kind} ${d.cluster} by ${d.by}`)).toEqual([`retry ${c1} by ann`]);
  });

  it('accept leaves a cluster whose rollback failed as it is; the rollout ends failed, saying so', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    fleet.fail(c1, 'verify-chart', Infinity, '3.0.0');
    fleet.fail(c1, 'rollback');
    await env.startWorker(fleet.activities());
    const handle = await env.start(rollbackPlan(c1, c2));
    await waitForStatus(handle, (s) => s.clusters[0]?.state === 'rollback-failed');

    expect(await refusal(handle.executeUpdate(acceptUpdate, { args: [{ cluster: c1, by: 'ann' }] }))).toMatch(
      /say why/,
    );
    expect(
      await refusal(handle.executeUpdate(acceptUpdate, { args: [{ cluster: c2, by: 'ann', comment: 'x' }] })),
    ).toMatch(/accept applies to a cluster whose rollback failed/);
    await handle.executeUpdate(acceptUpdate, { args: [{ cluster: c1, by: 'ann', comment: 'fixing it by hand' }] });
    const result = await handle.result();
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(new RegExp(`rollback did not finish on ${c1} \\(accepted\\)`));
    expect(result.clusters[0]).toMatchObject({ state: 'accepted' });
    const status = await handle.query(statusQuery);
    expect(status.decisions.at(-1)).toMatchObject({
      kind: 'accept',
      cluster: c1,
      by: 'ann',
      comment: 'fixing it by hand',
    });
  });

  it('a rollout refused for a held cluster says so in its status and search attributes, not "running"', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    const release = fleet.hold(c1, 'verify-chart');
    await env.startWorker(fleet.activities());
    const first = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    expect(await first.executeUpdate(startedUpdate)).toEqual({ clusters: 1, state: 'running' });

    const second = await env.start(testInput([{ name: 'all', clusters: [c2, c1], approval: 'auto' }]));
    const refused = await second.executeUpdate(startedUpdate).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refused as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('ClusterLocked');
    expect(cause.message).toBe(
      `clusters already taken by another running rollout: ${c1} (held by ${first.workflowId})`,
    );
    expect(await second.result().catch((e: unknown) => e)).toBeInstanceOf(WorkflowFailedError);
    const status = await second.query(statusQuery);
    expect(status).toMatchObject({ state: 'failed', reason: cause.message });
    const described = await second.describe();
    expect(described.typedSearchAttributes.get(RolloutStateKey)).toBe('failed');
    release();
    expect((await first.result()).state).toBe('succeeded');
  });

  it('a preflight failure ends the rollout before it takes a lock or touches a cluster', async () => {
    const [c1] = clusterNames(1) as [string];
    const fleet = new FakeFleet([c1]);
    fleet.preflightProblem = 'chart app 3.0.0: not found in the repository';
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    const refused = await handle.executeUpdate(startedUpdate).catch((e: unknown) => e);
    expect(((refused as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('PreflightFailed');
    await handle.result().catch(() => undefined);
    expect(await handle.query(statusQuery)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/chart app 3.0.0: not found/) as unknown,
    });
    expect(fleet.calls.map((c) => c.activity)).toEqual(['preflight']);
    // It took no lock: the cluster is free for the next rollout.
    fleet.preflightProblem = undefined;
    const next = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    expect((await next.result()).state).toBe('succeeded');
  });

  it('removes the synchronizer Job of an attempt that failed after it ran', async () => {
    const [c1] = clusterNames(1) as [string];
    const fleet = new FakeFleet([c1]);
    fleet.fail(c1, 'cache', 1);
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    await waitForStatus(handle, (s) => s.state === 'awaiting-decision');
    const after = fleet.callsFor(c1).map((c) => `${c.activity}${c.failed ? ' (failed)' : ''}`);
    expect(after.slice(-2)).toEqual(['waitForCacheReady (failed)', 'cleanupSynchronizerJob']);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'ann', reason: 'done testing' }] });
    expect((await handle.result()).state).toBe('aborted');
  });

  it('runs the quick steps as local activities, and a failed local try as the regular activity', async () => {
    const [c1] = clusterNames(1) as [string];
    const fleet = new FakeFleet([c1]);
    fleet.fail(c1, 'snapshot', 1);
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    const [cluster] = (await handle.query(statusQuery)).clusters;
    expect(cluster?.snapshot?.releases.chart?.chartVersion).toBe('2.0.0');
    expect(
      fleet
        .callsFor(c1)
        .filter((c) => c.activity === 'snapshotCluster')
        .map((c) => (c.failed ? 'failed' : 'ok')),
    ).toEqual(['failed', 'ok']);
    const scheduled = (events: HistoryEvent[]) =>
      events.flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        return a ? [`${a.activityType?.name ?? ''} ${a.activityId ?? ''}`] : [];
      });
    const local = (events: HistoryEvent[]) =>
      events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    // The rollout took the snapshot: its local try failed and was run again as an activity named for the
    // cluster; the cluster's workflow got it as input, and signalled nothing back.
    const parent = (await handle.fetchHistory()).events ?? [];
    expect(scheduled(parent).filter((a) => a.startsWith('snapshotCluster'))).toEqual([
      `snapshotCluster snapshot:1:${c1}`,
    ]);
    expect(local(parent)).toHaveLength(1);
    const child = (await env.client.workflow.getHandle(cluster?.workflowId ?? '').fetchHistory()).events ?? [];
    expect(scheduled(child).map((a) => a.split(' ')[0])).toEqual([
      'upgradeRelease',
      'verifyWorkloads',
      'runSynchronizerJob',
      'waitForCacheReady',
      'upgradeRelease',
      'verifyWorkloads',
    ]);
    // The Job's removal succeeded locally.
    expect(local(child)).toHaveLength(1);
    expect(child.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
  });

  it("says which cluster the rollout's own snapshot finds unreachable, and goes on once it answers", async () => {
    const [c1] = clusterNames(1) as [string];
    const fleet = new FakeFleet([c1]);
    const answer = fleet.hold(c1, 'snapshot', { unreachable: 'connect ECONNREFUSED 127.0.0.1:6443' });
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    let live: LiveCluster | undefined;
    await expect
      .poll(async () => (live = (await fetchStatus(env.client, handle.workflowId)).live.get(c1))?.unreachable, {
        timeout: 20_000,
      })
      .toBeDefined();
    expect(live).toMatchObject({ step: 'snapshot', unreachable: { error: 'connect ECONNREFUSED 127.0.0.1:6443' } });
    answer();
    expect((await handle.result()).state).toBe('succeeded');
    expect(fleet.releases.get(c1)?.chart?.version).toBe('3.0.0');
  });

  it('reads the live step of at most liveReadsMax clusters in flight, the longest in flight first, and says so', async () => {
    const names = clusterNames(liveReadsMax + 20);
    const fleet = new FakeFleet(names);
    const release = names.map((c) => fleet.hold(c, 'cache'));
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([{ name: 'all', clusters: names, approval: 'auto', maxParallel: names.length }]),
    );
    await waitForStatus(handle, (s) => s.clusters.every((c) => c.state === 'running'));
    const fetched = await fetchStatus(env.client, handle.workflowId);
    expect(fetched.live.size).toBe(liveReadsMax);
    expect(fetched.liveSkipped).toBe(20);
    const oldest = [...fetched.status.clusters]
      .sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''))
      .slice(0, liveReadsMax)
      .map((c) => c.name);
    expect([...fetched.live.keys()].sort()).toEqual([...oldest].sort());
    await expect
      .poll(async () => (await fetchStatus(env.client, handle.workflowId)).live.get(oldest[0] as string)?.step, {
        timeout: 20_000,
      })
      .toBe('wait-cache');
    // The table lists the ones read, with their step; the rest in flight are counted.
    const text = renderStatus(fetched);
    expect(text).toContain(
      `listed in flight: the ${liveReadsMax} longest, with their step; 20 more in flight are counted below (--cluster NAME reads one)`,
    );
    expect(text).toContain('20 more not listed: 20 running');
    expect(names.filter((c) => new RegExp(`│ ${c} +│`).test(text)).sort()).toEqual([...oldest].sort());
    // Every cluster, with --all: those not read show no step, and the text says so.
    expect(renderStatus(fetched, { all: true })).toContain(
      `step read for the ${liveReadsMax} clusters longest in flight; 20 more in flight show none (--cluster NAME reads one)`,
    );
    release.forEach((r) => r());
    expect((await handle.result()).state).toBe('succeeded');
  });
});

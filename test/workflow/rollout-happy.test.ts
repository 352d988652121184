import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveUpdate, clusterTaskQueue, statusPageQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

const p = () => `t${randomBytes(3).toString('hex')}`;
let env: TemporalTestEnv;

beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

describe('rollout: happy path over three phases', () => {
  it('rolls every cluster in phase order, each step in order, gated phases only after approval', async () => {
    const x = p();
    const [c1, c2, c3, c4, c5] = [1, 2, 3, 4, 5].map((i) => `${x}-c${i}`) as [string, string, string, string, string];
    const fleet = new FakeFleet([c1, c2, c3, c4, c5]);
    const worker = await env.startWorker(fleet.activities());
    const input = testInput([
      { name: 'canary', clusters: [c1], approval: 'auto' },
      { name: 'wave-1', clusters: [c2, c3], approval: 'required', maxParallel: 2 },
      { name: 'wave-2', clusters: [c4, c5], approval: 'required' },
    ]);
    const handle = await env.start(input);

    const gated = await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    expect(gated.currentPhase).toBe('wave-1');
    expect(gated.phases.map((ph) => ph.state)).toEqual(['succeeded', 'awaiting-approval', 'pending']);
    expect(fleet.callsFor(c2)).toEqual([]);
    expect(fleet.callsFor(c3)).toEqual([]);

    // Early approval of the later phase is allowed and recorded.
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave-2', by: 'alice', comment: 'pre-approved' }] });
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave-1', by: 'bob' }] });
    const result = await handle.result();

    expect(result.state).toBe('succeeded');
    expect(result.clusters.map((c) => c.state)).toEqual(Array(5).fill('succeeded'));
    for (const c of [c1, c2, c3, c4, c5]) {
      expect(fleet.releases.get(c)).toEqual({
        operator: { version: '1.5.0', revision: 2 },
        chart: { version: '3.0.0', revision: 2 },
      });
      expect(fleet.callsFor(c).map((call) => call.activity + (call.role ? `:${call.role}` : ''))).toEqual([
        'snapshotCluster',
        'upgradeRelease:operator',
        'verifyWorkloads:op',
        'runSynchronizerJob',
        'waitForCacheReady',
        'cleanupSynchronizerJob',
        'upgradeRelease:chart',
        'verifyWorkloads:app',
      ]);
    }
    // No cluster of a later phase started before every cluster of the earlier one finished.
    const firstOf = (c: string) => fleet.calls.findIndex((call) => call.cluster === c);
    const lastOf = (c: string) => fleet.calls.map((call) => call.cluster).lastIndexOf(c);
    expect(firstOf(c2)).toBeGreaterThan(lastOf(c1));
    expect(firstOf(c4)).toBeGreaterThan(Math.max(lastOf(c2), lastOf(c3)));

    // The rollout ran on the task queue it was started on; each cluster's workflow and its steps on the
    // cluster queue (the worker's second SDK worker).
    expect((await handle.describe()).taskQueue).toBe(env.taskQueue);
    const clusterRun = env.client.workflow.getHandle(`${handle.workflowId}:${c2}`);
    expect((await clusterRun.describe()).taskQueue).toBe(clusterTaskQueue(env.taskQueue));
    const steps = ((await clusterRun.fetchHistory()).events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a ? [`${a.activityType?.name ?? ''} on ${a.taskQueue?.name ?? ''}`] : [];
    });
    expect(steps).toEqual(
      [
        'upgradeRelease',
        'verifyWorkloads',
        'runSynchronizerJob',
        'waitForCacheReady',
        'upgradeRelease',
        'verifyWorkloads',
      ].map((step) => `${step} on ${clusterTaskQueue(env.taskQueue)}`),
    );

    const status = await waitForStatus(handle, () => true);
    expect(status.decisions.map((d) => [d.kind, d.phase, d.by, d.comment])).toEqual([
      ['approve', 'wave-2', 'alice', 'pre-approved'],
      ['approve', 'wave-1', 'bob', undefined],
    ]);
    await env.stopWorker(worker);
  });

  it('answers status in pages: a page of the clusters asked for, every phase counted, names it lacks said', async () => {
    const x = p();
    const names = Array.from({ length: 30 }, (_, i) => `${x}-c${i + 1}`);
    const fleet = new FakeFleet(names);
    const hold = fleet.hold(names[0] as string, 'verify-chart');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: names.slice(0, 1), approval: 'auto' },
        { name: 'wave', clusters: names.slice(1), approval: 'auto', maxParallel: 29 },
      ]),
    );
    await waitForStatus(handle, (s) => s.clusters[0]?.state === 'running');
    const eyes = await handle.query(statusPageQuery, { attention: true });
    expect(eyes.status.clusters.map((c) => c.name)).toEqual([names[0]]);
    expect(eyes.total).toBe(1);
    expect(eyes.counts).toEqual({ canary: { running: 1 }, wave: { pending: 29 } });
    hold();
    expect((await handle.result()).state).toBe('succeeded');
    const page = await handle.query(statusPageQuery, { phase: 'wave', offset: 20, limit: 5 });
    expect(page.status.clusters.map((c) => c.name)).toEqual(names.slice(21, 26));
    expect([page.total, page.offset]).toEqual([29, 20]);
    expect(page.counts).toEqual({ canary: { succeeded: 1 }, wave: { succeeded: 29 } });
    const unknown = await handle.query(statusPageQuery, { clusters: [names[3] as string, 'nope'], phase: 'later' });
    expect(unknown.unknown).toEqual({ clusters: ['nope'], phase: 'later' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryUpdate, rollbackUpdate, skipUpdate } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { clusterNames } from '../helpers/names.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

const rollbacks = (fleet: FakeFleet) =>
  fleet.calls.filter((c) => c.activity === 'rollbackRelease').map((c) => `${c.cluster}:${c.role}->${c.version}`);

describe('rollout failures', () => {
  it('pauses on a failure, and a retry completes without retaking the snapshot or redoing finished steps', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    fleet.fail(c1, 'cache', 1);
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'auto' },
      ]),
    );
    const waiting = await waitForStatus(handle, (s) => s.state === 'awaiting-decision');
    expect(waiting.clusters[0]).toMatchObject({ state: 'failed', failedStep: 'wait-cache' });
    expect(waiting.clusters[0]?.error).toMatch(/injected failure of cache/);
    expect(waiting.reason).toMatch(/waiting for a decision/);
    expect(waiting.clusters[0]?.snapshot?.releases.chart).toMatchObject({ revision: 1, chartVersion: '2.0.0' });
    expect(fleet.callsFor(c2)).toEqual([]);

    await handle.executeUpdate(retryUpdate, { args: [{ cluster: c1, by: 'erin' }] });
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    const c1Calls = fleet.callsFor(c1);
    expect(c1Calls.filter((c) => c.activity === 'snapshotCluster')).toHaveLength(1);
    // The operator upgrade ran twice as a call, but the second found it in place and changed nothing.
    expect(c1Calls.filter((c) => c.role === 'operator').map((c) => c.changed)).toEqual([true, false]);
    expect(fleet.releases.get(c1)?.operator).toEqual({ version: '1.5.0', revision: 2 });
    const status = await waitForStatus(handle, () => true);
    expect(status.clusters[0]).toMatchObject({ attempts: 2, skippedSteps: ['upgrade-operator'] });
  });

  it('skip leaves a failed cluster as it is and goes on', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    fleet.fail(c1, 'verify-chart');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'auto' },
      ]),
    );
    await waitForStatus(handle, (s) => s.state === 'awaiting-decision');
    await handle.executeUpdate(skipUpdate, { args: [{ cluster: c1, by: 'erin', comment: 'known flaky' }] });
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    expect(result.clusters.map((c) => c.state)).toEqual(['skipped', 'succeeded']);
    expect(rollbacks(fleet)).toEqual([]);
  });

  it('rolls back by itself, newest first, to the snapshot each cluster reported', async () => {
    const [c1, c2, c3, c4] = clusterNames(4) as [string, string, string, string];
    const fleet = new FakeFleet([c1, c2, c3, c4]);
    const holdC3 = fleet.hold(c3, 'verify-chart');
    fleet.fail(c3, 'verify-chart', Infinity, '3.0.0');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2, c3, c4], approval: 'auto', maxParallel: 1, maxFailures: 0 },
        ],
        { onFailure: { action: 'rollback', rollbackScope: 'phase' } },
      ),
    );
    await waitForStatus(handle, (s) => s.clusters[2]?.state === 'running');
    holdC3();
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    expect(result.clusters.map((c) => c.state)).toEqual(['succeeded', 'rolled-back', 'rolled-back', 'pending']);
    // Scope "phase": c3 (newest) then c2, chart before operator; the canary keeps the new version.
    expect(rollbacks(fleet)).toEqual([
      `${c3}:chart->2.0.0`,
      `${c3}:operator->1.0.0`,
      `${c2}:chart->2.0.0`,
      `${c2}:operator->1.0.0`,
    ]);
    expect(fleet.releases.get(c2)).toMatchObject({ chart: { version: '2.0.0' }, operator: { version: '1.0.0' } });
    expect(fleet.releases.get(c1)?.chart?.version).toBe('3.0.0');
    expect(fleet.callsFor(c4)).toEqual([]);
  });

  it('rolls back everything rolled so far with scope "all", on request', async () => {
    const [c1, c2, c3] = clusterNames(3) as [string, string, string];
    const fleet = new FakeFleet([c1, c2, c3]);
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'auto' },
        { name: 'last', clusters: [c3], approval: 'required' },
      ]),
    );
    await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'frank', scope: 'all', comment: 'bad metrics' }] });
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    expect(rollbacks(fleet)).toEqual([
      `${c2}:chart->2.0.0`,
      `${c2}:operator->1.0.0`,
      `${c1}:chart->2.0.0`,
      `${c1}:operator->1.0.0`,
    ]);
    for (const c of [c1, c2]) {
      expect(fleet.releases.get(c)).toMatchObject({ chart: { version: '2.0.0' }, operator: { version: '1.0.0' } });
    }
    expect(fleet.callsFor(c3)).toEqual([]);
  });

  it('rolls a wave back as it rolled out, maxParallel at once, the last phase before the one before', async () => {
    const names = clusterNames(8);
    const [canary, ...rest] = names as [string, ...string[]];
    const wave = rest.slice(0, 6);
    const last = rest[6] as string;
    const fleet = new FakeFleet(names);
    fleet.delayMs = 150;
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [canary], approval: 'auto' },
        { name: 'wave', clusters: wave, approval: 'auto', maxParallel: 3 },
        { name: 'last', clusters: [last], approval: 'required' },
      ]),
    );
    await waitForStatus(handle, (s) => s.state === 'awaiting-approval', 30_000);
    fleet.maxInFlight = 0;
    await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'frank', scope: 'all', comment: 'bad metrics' }] });
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    expect(result.clusters.map((c) => c.state)).toEqual([...Array(7).fill('rolled-back'), 'pending']);
    // Three of the wave's clusters at once, never more; one at a time took six times as long.
    expect(fleet.maxInFlight).toBe(3);
    // The canary, the oldest phase, went back after every cluster of the wave.
    const order = rollbacks(fleet);
    const canaryFirst = order.findIndex((r) => r.startsWith(`${canary}:`));
    expect(canaryFirst).toBe(order.length - 2);
    for (const c of names) {
      expect(fleet.releases.get(c)).toMatchObject({ chart: { version: '2.0.0' }, operator: { version: '1.0.0' } });
    }
    expect(fleet.callsFor(last)).toEqual([]);
  });

  it('keeps at most maxParallel clusters in flight', async () => {
    const names = clusterNames(6);
    const fleet = new FakeFleet(names);
    fleet.delayMs = 150;
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: names, approval: 'auto', maxParallel: 2 }]));
    expect((await handle.result()).state).toBe('succeeded');
    expect(fleet.maxInFlight).toBe(2);
  });

  it('tolerates up to maxFailures failed clusters in a phase', async () => {
    const [c1, c2, c3, c4] = clusterNames(4) as [string, string, string, string];
    const fleet = new FakeFleet([c1, c2, c3, c4]);
    fleet.fail(c2, 'operator');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'wave', clusters: [c1, c2, c3], approval: 'auto', maxParallel: 3, maxFailures: 1 },
        { name: 'last', clusters: [c4], approval: 'auto' },
      ]),
    );
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    expect(result.clusters.map((c) => c.state)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
    expect(result.clusters[1]?.error).toMatch(/injected failure of operator/);
  });

  it('treats a verification failure during the bake as a failure of that cluster', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto', bake: '3s' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        { onFailure: { action: 'rollback', rollbackScope: 'phase' } },
      ),
    );
    await waitForStatus(handle, (s) => s.state === 'baking');
    fleet.fail(c1, 'verify-chart', Infinity, '3.0.0');
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    expect(result.clusters[0]?.error).toMatch(/verification failed during the bake of phase "canary"/);
    expect(rollbacks(fleet)).toEqual([`${c1}:chart->2.0.0`, `${c1}:operator->1.0.0`]);
    expect(fleet.callsFor(c2)).toEqual([]);
  });
});

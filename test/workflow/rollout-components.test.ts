/**
 * A release of several components rolled as one, with doubled activities on a real dev server: each
 * cluster gets its components in the plan's order (the synchronizer before the one that needs the cache),
 * a component limited by labels is skipped elsewhere and said so, and a failure in the third component
 * rolls the cluster back in reverse order to the versions recorded before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutVersionsKey } from '../../src/common/search-attributes.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { clusterNames } from '../helpers/names.js';
import { componentsBefore, componentsInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

/** A cluster's calls that change or check it, as "activity:role@version" in the order they ran. */
const steps = (fleet: FakeFleet, cluster: string) =>
  fleet
    .callsFor(cluster)
    .filter((c) => !c.failed && c.activity !== 'cleanupSynchronizerJob')
    .map((c) => `${c.activity}${c.role ? `:${c.role}` : ''}${c.version ? `@${c.version}` : ''}`);

describe('a release of several components', () => {
  it('rolls each cluster its components in order, skips a label-limited one elsewhere and says so', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2], componentsBefore);
    await env.startWorker(fleet.activities());
    const input = componentsInput(
      [{ name: 'canary', clusters: [c1, c2], approval: 'auto', maxParallel: 2 }],
      [c2],
      {},
      {
        farmer: '1.4.1',
      },
    );
    const handle = await env.start(input);
    expect((await handle.result()).state).toBe('succeeded');

    expect(steps(fleet, c2)).toEqual([
      'snapshotCluster',
      'upgradeRelease:operator@1.5.0',
      'verifyWorkloads:operator@1.5.0',
      'runSynchronizerJob@3.0.0',
      'waitForCacheReady@3.0.0',
      'upgradeRelease:express@3.0.0',
      'verifyWorkloads:express@3.0.0',
      'upgradeRelease:farmer@1.4.1',
      'verifyWorkloads:farmer@1.4.1',
      'upgradeRelease:accelerator@1.0.0',
      'verifyWorkloads:accelerator@1.0.0',
    ]);
    // The cluster without the label never sees the accelerator: not snapshotted, upgraded or verified.
    expect(steps(fleet, c1).filter((s) => s.includes('accelerator'))).toEqual([]);
    expect(fleet.releases.get(c1)?.accelerator).toEqual({ version: '0.9.0', revision: 1 });
    expect(fleet.releases.get(c2)?.accelerator).toEqual({ version: '1.0.0', revision: 2 });

    const status = await waitForStatus(handle, () => true);
    expect(status.versions).toEqual({ operator: '1.5.0', express: '3.0.0', farmer: '1.4.1', accelerator: '1.0.0' });
    expect(status.chartVersion, 'the primary component is the one after the synchronizer').toBe('3.0.0');
    const byName = new Map(status.clusters.map((c) => [c.name, c]));
    expect(byName.get(c1)?.notApplicable).toEqual(['accelerator']);
    expect(byName.get(c2)?.notApplicable).toBeUndefined();
    expect(Object.keys(byName.get(c1)?.snapshot?.releases ?? {})).toEqual(['operator', 'express', 'farmer']);
    // Every component's version is searchable, one keyword each.
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(RolloutVersionsKey)).toEqual([
      'operator=1.5.0',
      'express=3.0.0',
      'farmer=1.4.1',
      'accelerator=1.0.0',
    ]);
  });

  it('a failure in the third component rolls the cluster back in reverse order, untouched ones left alone', async () => {
    const [c1, c2, c3] = clusterNames(3) as [string, string, string];
    const fleet = new FakeFleet([c1, c2, c3], componentsBefore);
    fleet.fail(c2, 'farmer');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      componentsInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2, c3], approval: 'auto' },
        ],
        [c1, c2],
        { onFailure: { action: 'rollback', rollbackScope: 'all' } },
      ),
    );
    const result = await handle.result();
    expect(result.state).toBe('rolled-back');
    const status = await waitForStatus(handle, () => true);
    const wave = status.clusters.find((c) => c.name === c2);
    expect(wave).toMatchObject({ failedStep: 'upgrade-farmer', state: 'rolled-back' });

    // The failed cluster: the farmer never changed; express and the operator went back, last first; the
    // accelerator, never reached, was already where it was.
    const rollbacks = (c: string) =>
      fleet
        .callsFor(c)
        .filter((x) => x.activity === 'rollbackRelease')
        .map((x) => `${x.role}->${x.version}:${x.changed ? 'changed' : 'in place'}`);
    expect(rollbacks(c2)).toEqual([
      'accelerator->0.9.0:in place',
      'farmer->1.3.0:in place',
      'express->2.0.0:changed',
      'operator->1.0.0:changed',
    ]);
    // The canary, rolled whole, went back whole, in reverse order.
    expect(rollbacks(c1)).toEqual([
      'accelerator->0.9.0:changed',
      'farmer->1.3.0:changed',
      'express->2.0.0:changed',
      'operator->1.0.0:changed',
    ]);
    for (const c of [c1, c2]) {
      expect(Object.fromEntries(Object.entries(fleet.releases.get(c) ?? {}).map(([n, r]) => [n, r?.version]))).toEqual(
        componentsBefore,
      );
    }
    // The wave's next cluster never started: the failure was over the phase's budget.
    expect(fleet.callsFor(c3).filter((x) => x.activity === 'upgradeRelease')).toEqual([]);
  });

  it('survives a worker stopped in the third component: a new worker finishes it, no completed step runs again', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2], componentsBefore);
    const release = fleet.hold(c1, 'farmer');
    const worker = await env.startWorker(fleet.activities());
    const handle = await env.start(
      componentsInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        [c1, c2],
      ),
    );
    await waitForStatus(handle, () => fleet.gates.size > 0 && fleet.inFlight === 1);
    await env.stopWorker(worker);
    release();
    await env.startWorker(fleet.activities());
    expect((await handle.result()).state).toBe('succeeded');
    for (const c of [c1, c2]) {
      const done = fleet.callsFor(c).filter((call) => !call.failed);
      const keys = done.map((call) => `${call.activity}:${call.role ?? ''}`);
      expect(new Set(keys).size, `completed steps of ${c}: ${keys.join(', ')}`).toBe(keys.length);
      expect(fleet.releases.get(c)).toEqual({
        operator: { version: '1.5.0', revision: 2 },
        express: { version: '3.0.0', revision: 2 },
        farmer: { version: '1.4.0', revision: 2 },
        accelerator: { version: '1.0.0', revision: 2 },
      });
    }
    // The interrupted farmer upgrade is the only step that ran twice, and it changed the release once.
    expect(
      fleet
        .callsFor(c1)
        .filter((call) => call.activity === 'upgradeRelease' && call.role === 'farmer')
        .map((call) => !!call.failed),
    ).toEqual([true, false]);
  });
});

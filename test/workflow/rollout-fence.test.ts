import type { ReleaseSpec } from '../../src/plan/schema.js';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFence, withFence } from '../../src/activities/fence.js';
import type { Activities, UpgradeReleaseInput } from '../../src/activities/contracts.js';
import { abortUpdate, pauseUpdate, progressQuery, resumeUpdate } from '../../src/workflows/definitions.js';
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

/** An upgrade of `cluster` as its rollout's cluster workflow asks for it. */
function upgradeOf(cluster: string, rolloutId: string, role: 'operator' | 'chart'): UpgradeReleaseInput {
  const input = testInput([{ name: 'all', clusters: [cluster], approval: 'auto' }]);
  const release = input.plan.spec.release[role] as ReleaseSpec;
  return {
    cluster,
    context: `ctx-${cluster}`,
    component: role,
    release,
    version: release.version,
    source: input.source,
    rolloutId,
    opensCluster: role === 'operator',
  };
}

/** What the fenced upgrade answers: 'started', or the fence's refusal. */
async function tryUpgrade(acts: Pick<Activities, 'upgradeRelease'>, input: UpgradeReleaseInput): Promise<string> {
  try {
    await acts.upgradeRelease(input);
    return 'started';
  } catch (err) {
    return err instanceof ApplicationFailure ? `${err.type}: ${err.message}` : String(err);
  }
}

describe('the stop words fence', () => {
  it('once an abort is accepted, no mutating step starts; once a pause is, no cluster starts (in flight ones finish)', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    const release = fleet.hold(c1, 'synchronizer');
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: [c1, c2], approval: 'auto', maxParallel: 1 }]));
    // Wait until c1's workflow is in its held synchronizer step (as its progress query says).
    const child = env.client.workflow.getHandle(`${handle.workflowId}:${c1}`);
    await expect
      .poll(
        () =>
          child.query(progressQuery).then(
            (p) => p.step,
            () => undefined,
          ),
        { timeout: 30_000 },
      )
      .toBe('run-synchronizer');
    // The fake's own upgrades, behind the fence as the worker puts them; asked as the cluster workflow would.
    let started = 0;
    const upgrades = withFence(
      { ...fleet.activities(), upgradeRelease: () => Promise.resolve((started++, {} as never)) },
      createFence(env.client),
    );
    expect(await tryUpgrade(upgrades, upgradeOf(c1, handle.workflowId, 'chart'))).toBe('started');

    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'alice', comment: 'look first' }] });
    // The answer names what was in flight when the pause was accepted, and where.
    expect(paused.inFlight).toEqual([{ cluster: c1, step: 'run-synchronizer' }]);
    // Paused: a cluster's first change (its operator) does not start; a cluster in flight finishes.
    expect(await tryUpgrade(upgrades, upgradeOf(c2, handle.workflowId, 'operator'))).toBe(
      `Fenced: not started on ${c2}: the rollout is paused; nothing was changed`,
    );
    expect(await tryUpgrade(upgrades, upgradeOf(c1, handle.workflowId, 'chart'))).toBe('started');

    const aborted = await handle.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'on fire' }] });
    expect([aborted.stopping, aborted.inFlight]).toEqual(['abort', [{ cluster: c1, step: 'run-synchronizer' }]]);
    // Aborted: nothing that changes a cluster starts, first change or not.
    for (const [c, role] of [
      [c1, 'chart'],
      [c2, 'operator'],
    ] as const) {
      expect(await tryUpgrade(upgrades, upgradeOf(c, handle.workflowId, role))).toBe(
        `Fenced: not started on ${c}: the rollout is stopping (abort accepted); nothing was changed`,
      );
    }
    expect(started).toBe(2);
    release();
    expect((await handle.result()).state).toBe('aborted');
    // The held cluster's chart was never upgraded, and the other cluster was never touched.
    expect(fleet.callsFor(c1).filter((c) => c.activity === 'upgradeRelease' && c.role === 'chart')).toEqual([]);
    expect(fleet.callsFor(c2).filter((c) => c.activity !== 'snapshotCluster')).toEqual([]);
  });

  it('a cluster whose workflow started just before a pause waits, unchanged, and rolls once resumed', async () => {
    const [c1] = clusterNames(1) as [string];
    const fleet = new FakeFleet([c1]);
    // The snapshot is taken right before the cluster's workflow starts: hold it there, pause, then let it go.
    const release = fleet.hold(c1, 'snapshot');
    await env.startWorker(fleet.activities());
    const handle = await env.start(testInput([{ name: 'all', clusters: [c1], approval: 'auto' }]));
    await waitForStatus(handle, (s) => s.clusters[0]?.state === 'running');
    await handle.executeUpdate(pauseUpdate, { args: [{ by: 'alice' }] });
    release();
    const held = await waitForStatus(handle, (s) => s.clusters[0]?.state === 'pending' && s.clusters[0].attempts === 1);
    expect(held.paused).toBe(true);
    expect(fleet.callsFor(c1).filter((c) => c.activity !== 'snapshotCluster')).toEqual([]);
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'alice' }] });
    const done = await handle.result();
    expect(done.state).toBe('succeeded');
    expect(
      fleet
        .callsFor(c1)
        .filter((c) => c.activity === 'upgradeRelease')
        .map((c) => c.role),
    ).toEqual(['operator', 'chart']);
  });
});

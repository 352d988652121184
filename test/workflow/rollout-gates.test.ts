/**
 * Approval gates show what a phase would change and bind approvals to it: on a real dev server, with the
 * fleet doubled (its diffs follow each cluster's versions and any hand edit made to it).
 */
import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, statusQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

const p = () => `g${randomBytes(3).toString('hex')}`;
let env: TemporalTestEnv;

beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

/** A canary of c1, then a wave of c2 that needs approval: started, and at the wave's gate. */
async function atWaveGate(fleet: FakeFleet, c1: string, c2: string) {
  await env.startWorker(fleet.activities());
  const handle = await env.start(
    testInput([
      { name: 'canary', clusters: [c1], approval: 'auto' },
      { name: 'wave', clusters: [c2], approval: 'required' },
    ]),
  );
  return { handle, gated: await waitForStatus(handle, (s) => s.state === 'awaiting-approval') };
}

describe('approval gates bound to the diff', () => {
  it('shows the grouped diff at the gate; a cluster changed by hand after approval voids it until approved again', async () => {
    const x = p();
    const [c1, c2, c3, c4] = [1, 2, 3, 4].map((i) => `${x}-c${i}`) as [string, string, string, string];
    const fleet = new FakeFleet([c1, c2, c3, c4]);
    fleet.releases.get(c4)!.chart = { version: '3.0.0', revision: 7 }; // already at the target: no change there
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2, c3, c4], approval: 'required', maxParallel: 3 },
      ]),
    );
    const gated = await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    const wave = gated.phases[1]!;
    expect(wave.diff?.groups.map((g) => [g.clusters, g.summary.changed])).toEqual([
      [[c2, c3], { Deployment: 1 }],
      [[c4], {}],
    ]);
    expect(gated.reason).toContain(`diff ${wave.diff?.digest.slice(7, 19)}: 2 distinct`);
    expect(gated.reason).toContain(`${c2}, ${c3}: 1 Deployment changed`);
    expect(fleet.callsFor(c2), 'a diff reads a cluster, never changes it').toEqual([]);

    // What the Web UI's update and query dialogs show: every handler says what it is for and what to send.
    const meta = await handle.query<{
      definition: {
        updateDefinitions: { name: string; description?: string }[];
        queryDefinitions: { name: string; description?: string }[];
      };
    }>('__temporal_workflow_metadata');
    const updates = Object.fromEntries(meta.definition.updateDefinitions.map((d) => [d.name, d.description]));
    expect(Object.keys(updates).sort()).toEqual(
      [
        'abort',
        'accept',
        'approve',
        'override-window',
        'pause',
        'resume',
        'retry',
        'rollback',
        'skip',
        'started',
      ].sort(),
    );
    expect(Object.values(updates).every((d) => (d ?? '').length > 20)).toBe(true);
    expect(updates['approve']).toContain('{"phase": "wave-1", "by": "your name"');
    expect(meta.definition.queryDefinitions.find((q) => q.name === 'status')?.description).toMatch(
      /^The rollout's status/,
    );

    // A digest other than the gate's is refused at once: the approver reviewed something else.
    const stale = await handle
      .executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice', digest: 'sha256:feedface' }] })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((stale as WorkflowUpdateFailedError).cause as Error).message).toMatch(
      /the diff of phase "wave" is now \w{12}, not the feedface you reviewed/,
    );

    // Someone changes c3 by hand after the diff was shown; alice approves what she saw.
    fleet.handEdits.set(c3, 'kubectl edit');
    const approved = wave.diff!.digest;
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice', digest: approved }] });
    const again = await waitForStatus(handle, (s) => s.decisions.some((d) => d.kind === 'approval-void'));
    expect(again.state).toBe('awaiting-approval');
    expect(again.phases[1]?.approvedBy).toBeUndefined();
    expect(again.reason).toMatch(
      /^the diff changed since alice approved it \(\w{12} -> \w{12}\), so that approval no longer holds/,
    );
    expect(again.phases[1]?.diff?.groups).toHaveLength(3); // c3 now differs from c2
    expect(fleet.callsFor(c2), 'nothing of the phase started').toEqual([]);

    const digest = again.phases[1]!.diff!.digest;
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'bob', digest }] });
    const result = await handle.result();
    expect(result.state).toBe('succeeded');
    const status = await handle.query(statusQuery);
    expect(status.phases[1]?.approvedBy).toMatchObject({ by: 'bob', digest });
    expect(status.decisions.filter((d) => d.kind === 'approve').map((d) => [d.by, d.digest])).toEqual([
      ['alice', approved],
      ['bob', digest],
    ]);
  });

  it('a pause between approval and the phase start does not skip the re-diff: a hand change made meanwhile voids it', async () => {
    const x = p();
    const [c1, c2] = [1, 2].map((i) => `${x}-c${i}`) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    const { handle, gated } = await atWaveGate(fleet, c1, c2);
    await handle.executeUpdate(pauseUpdate, { args: [{ by: 'alice' }] });
    const digest = gated.phases[1]!.diff!.digest;
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice', digest }] });
    // The approval is checked against the diff once the pause ends, not before.
    await waitForStatus(handle, (s) => s.phases[1]?.approvedBy !== undefined);
    fleet.handEdits.set(c2, 'helm upgrade by hand');
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'alice' }] });
    const voided = await waitForStatus(handle, (s) => s.decisions.some((d) => d.kind === 'approval-void'));
    expect(voided.state).toBe('awaiting-approval');
    expect(voided.reason).toMatch(/^the diff changed since alice approved it/);
    expect(fleet.callsFor(c2), 'the hand change was not overwritten unreviewed').toEqual([]);
    await handle.executeUpdate(approveUpdate, {
      args: [{ phase: 'wave', by: 'bob', digest: voided.phases[1]!.diff!.digest }],
    });
    expect((await handle.result()).state).toBe('succeeded');
  });

  it('refuses to approve a phase whose diff says the pinned files changed: it could not roll what was started', async () => {
    const x = p();
    const [c1, c2] = [1, 2].map((i) => `${x}-c${i}`) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    fleet.diffErrors.set(c2, {
      error: 'overlays/c2.yaml changed since the rollout started: expected sha256:aa, found sha256:bb',
      errorType: 'SourceChanged',
    });
    const { handle, gated } = await atWaveGate(fleet, c1, c2);
    expect(gated.reason).toContain('diff unavailable: overlays/c2.yaml changed since the rollout started');
    const refused = await handle
      .executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice' }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((refused as WorkflowUpdateFailedError).cause as Error).message).toBe(
      `phase "wave" cannot roll what rollout ${handle.workflowId} was started with: overlays/c2.yaml changed since the rollout started: expected sha256:aa, found sha256:bb; abort it (rollout abort ${handle.workflowId} --reason WHY) or roll it back, and start a new rollout from the files as they are now`,
    );
    expect(fleet.callsFor(c2), 'no operator upgraded, no synchronizer run').toEqual([]);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'files changed' }] });
    expect((await handle.result()).state).toBe('aborted');
  });

  it('an early approval binds to the pinned source and versions, not to a diff it never saw', async () => {
    const x = p();
    const [c1, c2] = [1, 2].map((i) => `${x}-c${i}`) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    const release = fleet.hold(c1, 'verify-chart');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'required' },
      ]),
    );
    await waitForStatus(handle, (s) => s.clusters[0]?.state === 'running');
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice', comment: 'early' }] });
    fleet.handEdits.set(c2, 'kubectl scale');
    release();
    expect((await handle.result()).state).toBe('succeeded');
    const status = await handle.query(statusQuery);
    expect(status.phases[1]?.approvedBy?.digest).toBeUndefined();
    expect(status.phases[1]?.diff?.groups[0]?.clusters, 'its diff is still recorded').toEqual([c2]);
  });
});

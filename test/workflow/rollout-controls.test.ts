import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  resumeUpdate,
  retryUpdate,
  rollbackUpdate,
  skipUpdate,
} from '../../src/workflows/definitions.js';
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

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return (err.cause as Error).message;
    return (err as Error).message;
  }
  throw new Error('update was accepted');
}

describe('rollout controls', () => {
  it('refuses bad requests at once, saying why, and records nothing', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2] },
        ],
        { approvers: ['alice'] },
      ),
    );
    await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    const args = <T>(a: T) => ({ args: [a] as [T] });

    expect(await refusal(handle.executeUpdate(approveUpdate, args({ phase: 'nope', by: 'alice' })))).toMatch(
      /unknown phase "nope"; phases: canary, wave/,
    );
    expect(await refusal(handle.executeUpdate(approveUpdate, args({ phase: 'canary', by: 'alice' })))).toMatch(
      /does not require approval/,
    );
    expect(await refusal(handle.executeUpdate(approveUpdate, args({ phase: 'wave', by: 'mallory' })))).toMatch(
      /mallory is not among the plan's approvers \(alice\)/,
    );
    expect(await refusal(handle.executeUpdate(retryUpdate, args({ cluster: c1, by: 'alice' })))).toMatch(
      /is succeeded, not failed/,
    );
    expect(await refusal(handle.executeUpdate(skipUpdate, args({ cluster: 'ghost', by: 'alice' })))).toMatch(
      /unknown cluster "ghost"/,
    );
    expect(await refusal(handle.executeUpdate(resumeUpdate, args({ by: 'alice' })))).toMatch(/not paused/);
    expect(await refusal(handle.executeUpdate(abortUpdate, args({ by: 'alice', reason: ' ' })))).toMatch(
      /give a reason/,
    );
    expect(
      await refusal(handle.executeUpdate(rollbackUpdate, args({ by: 'alice', scope: 'everything' as 'all' }))),
    ).toMatch(/rollback takes \{"by": "alice", "scope": "phase"\}: scope is wrong \("phase" or "all"\)/);
    // A request sent by hand with a stock client, without who acts: refused saying what to send.
    expect(
      await refusal(handle.executeUpdate(approveUpdate, args({ phase: 'wave' } as { phase: string; by: string }))),
    ).toMatch(/^approve takes \{"phase": "wave-1", "by": "alice", "comment": "..."\}: by is missing/);
    expect((await waitForStatus(handle, () => true)).decisions).toEqual([]);

    await handle.executeUpdate(approveUpdate, args({ phase: 'wave', by: 'alice' }));
    const again = await handle
      .executeUpdate(approveUpdate, args({ phase: 'wave', by: 'alice' }))
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (again as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(cause.message).toMatch(/already approved by alice/);
    // Final, of the same type as every other refusal of an approval.
    expect(cause).toMatchObject({ type: 'ApprovalRefused', nonRetryable: true });
    expect((await handle.result()).state).toBe('succeeded');
    expect(await refusal(handle.executeUpdate(pauseUpdate, args({ by: 'alice' })))).toMatch(/already completed/);
  });

  it('pause holds back new clusters and phases until resume', async () => {
    const [c1, c2, c3] = clusterNames(3) as [string, string, string];
    const fleet = new FakeFleet([c1, c2, c3]);
    await env.startWorker(fleet.activities());
    const releaseC1 = fleet.hold(c1, 'verify-chart');
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2, c3], approval: 'auto', maxParallel: 2 },
      ]),
    );
    // In flight and changing (its chart upgraded, its verification held): a pause lets it finish. A cluster
    // that had not changed anything yet would wait instead (the fence: test/workflow/rollout-fence.test.ts).
    await expect.poll(() => fleet.callsFor(c1).some((c) => c.role === 'chart'), { timeout: 30_000 }).toBe(true);
    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'carol', comment: 'incident' }] });
    // The reply is the decision and the state it left, not the whole status (it is kept in history).
    expect(paused).toMatchObject({ paused: true, state: 'running', phase: 'canary' });
    expect(paused.decision).toMatchObject({ kind: 'pause', by: 'carol', comment: 'incident' });
    expect(paused).not.toHaveProperty('clusters');
    releaseC1();
    // The cluster in flight finishes; the next phase does not start while paused.
    await waitForStatus(handle, (s) => s.clusters[0]?.state === 'succeeded');
    await new Promise((r) => setTimeout(r, 1500));
    expect(fleet.callsFor(c2)).toEqual([]);
    const st = await waitForStatus(handle, () => true);
    expect(st.phases[1]?.state).toBe('pending');

    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'carol' }] });
    expect((await handle.result()).state).toBe('succeeded');
    expect(fleet.releases.get(c3)?.chart?.version).toBe('3.0.0');
  });

  it('abort cancels clusters in flight, starts nothing more, and restores the half-done cluster', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker(fleet.activities());
    fleet.hold(c1, 'cache'); // never released: the cache never becomes ready
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'auto' },
      ]),
    );
    await waitForStatus(handle, (s) => s.clusters[0]?.state === 'running' && fleet.callsFor(c1).length >= 3);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'wrong build' }] });
    const result = await handle.result();
    expect(result.state).toBe('aborted');
    expect(result.reason).toBe('aborted by dave: wrong build');
    expect(result.clusters.map((c) => c.state)).toEqual(['rolled-back', 'pending']);
    expect(fleet.callsFor(c2)).toEqual([]);
    // c1 had its operator upgraded when the abort came: it goes back to where it was, no further.
    const restores = fleet.calls.filter((c) => c.activity === 'rollbackRelease');
    expect(restores.map((c) => [c.role, c.version, c.changed])).toEqual([
      ['chart', '2.0.0', false],
      ['operator', '1.0.0', true],
    ]);
    expect(fleet.releases.get(c1)).toEqual({
      operator: { version: '1.0.0', revision: 3 },
      chart: { version: '2.0.0', revision: 1 },
    });
  });
});

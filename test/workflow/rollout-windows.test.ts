/**
 * Deploy windows on a real dev server: a cluster starts only inside its allow window, waiting on a durable
 * timer (not polling) and saying why; an approver's override sets a window aside, recorded.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overrideWindowUpdate, progressQuery, statusQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});
const names = () => {
  const x = `w${randomBytes(3).toString('hex')}`;
  return [`${x}-c1`, `${x}-c2`] as const;
};

describe('deploy windows', () => {
  it('starts a cluster only inside its allow window, and says what it waits for meanwhile', async () => {
    const [c1, c2] = names();
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker(fleet.activities());
    // Open for 4 s at every 15-second mark (seconds field first): c2's phase waits for the next opening.
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        { windows: [{ name: 'quarter', kind: 'allow', schedule: '*/15 * * * * *', duration: '4s', phases: ['wave'] }] },
      ),
    );
    const waiting = await waitForStatus(
      handle,
      (s) => s.clusters[1]?.waitingFor !== undefined || s.state === 'succeeded',
      60_000,
    );
    if (waiting.state !== 'succeeded') {
      expect(waiting.clusters[1]?.waitingFor).toMatch(
        /^waiting for window quarter, opens \d{4}-\d\d-\d\dT\d\d:\d\d\+00:00$/,
      );
      expect(waiting.reason).toBe(waiting.clusters[1]?.waitingFor);
    }
    expect((await handle.result()).state).toBe('succeeded');
    const status = await handle.query(statusQuery);
    const started = new Date(status.clusters[1]?.startedAt ?? '').getUTCSeconds() % 15;
    expect(started, 'c2 started inside an opening').toBeLessThan(4);
    expect(status.clusters[1]?.waitingFor).toBeUndefined();
    // The wait was a timer, not a poll: a handful of workflow tasks, not one per second.
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.timerStartedEventAttributes).length).toBeLessThanOrEqual(2);
  });

  it('an approver sets a deny window aside for the rollout, with a reason, recorded', async () => {
    const [c1, c2] = names();
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        {
          approvers: ['alice'],
          // A freeze that began this minute and lasts 50 minutes.
          windows: [
            {
              name: 'freeze',
              kind: 'deny',
              schedule: `${new Date().getUTCMinutes()} * * * *`,
              duration: '50m',
              clusters: [c2],
            },
          ],
        },
      ),
    );
    const held = await waitForStatus(handle, (s) => s.clusters[1]?.waitingFor !== undefined);
    expect(held.clusters[1]?.waitingFor).toMatch(/^held by deny window freeze; may start /);
    const refused = await handle
      .executeUpdate(overrideWindowUpdate, { args: [{ by: 'mallory', window: 'freeze', comment: 'hotfix' }] })
      .catch((e: unknown) => e);
    expect(((refused as WorkflowUpdateFailedError).cause as Error).message).toMatch(
      /mallory is not among the plan's approvers/,
    );
    const noReason = await handle
      .executeUpdate(overrideWindowUpdate, { args: [{ by: 'alice', window: 'freeze' }] })
      .catch((e: unknown) => e);
    expect(((noReason as WorkflowUpdateFailedError).cause as Error).message).toBe(
      'say why the window may be set aside (-m TEXT)',
    );
    await handle.executeUpdate(overrideWindowUpdate, {
      args: [{ by: 'alice', window: 'freeze', comment: 'security fix' }],
    });
    expect((await handle.result()).state).toBe('succeeded');
    const status = await handle.query(statusQuery);
    expect(status.windowOverrides).toEqual(['freeze']);
    expect(status.decisions.find((d) => d.kind === 'override-window')).toMatchObject({
      by: 'alice',
      window: 'freeze',
      comment: 'security fix',
    });
  });

  it('with windowPolicy inFlight pause, a cluster in flight when its window closes waits before its next step', async () => {
    const [c1] = names();
    const fleet = new FakeFleet([c1]);
    const release = fleet.hold(c1, 'operator');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([{ name: 'canary', clusters: [c1], approval: 'auto' }], {
        windows: [{ name: 'tens', kind: 'allow', schedule: '*/10 * * * * *', duration: '2s' }],
        windowPolicy: { inFlight: 'pause' },
      }),
    );
    const running = await waitForStatus(handle, (s) => s.clusters[0]?.state === 'running', 30_000);
    // Let the opening it started in pass, then let the operator step finish: the next step must wait.
    await new Promise((r) => setTimeout(r, 2_500));
    release();
    const child = env.client.workflow.getHandle(running.clusters[0]?.workflowId ?? '');
    const deadline = Date.now() + 15_000;
    let waiting: string | undefined;
    while (!waiting && Date.now() < deadline) {
      const p = await child.query(progressQuery);
      waiting = p.waitingFor;
      if (p.done.includes('run-synchronizer')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(waiting).toMatch(/^paused in flight: waiting for window tens, opens /);
    expect((await handle.result()).state).toBe('succeeded');
  });
});

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import {
  lockRegistryId,
  locksQuery,
  retryUpdate,
  rollbackUpdate,
  statusQuery,
} from '../../src/workflows/definitions.js';
import { heldClusters } from '../../src/domain/locks.js';
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

/** Workflow IDs whose histories the replay test checks, gathered from the runs in this file. */
const recorded: string[] = [];
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A worker over a fleet of `held` and `others`, and a rollout of `held` alone that holds it, its step
 * `verify` waiting until `release` is called.
 */
async function holdingRollout(held: string, ...others: string[]) {
  const fleet = new FakeFleet([held, ...others]);
  const release = fleet.hold(held, 'verify-chart');
  await env.startWorker(fleet.activities());
  const first = await env.start(testInput([{ name: 'all', clusters: [held], approval: 'auto' }]));
  await waitForStatus(first, (s) => s.clusters[0]?.state === 'running');
  return { first, release };
}

describe('rollout durability', () => {
  it('refuses a rollout that would touch a cluster another running rollout holds, naming the holder', async () => {
    const [c1, c2, c3] = clusterNames(3) as [string, string, string];
    const fleet = new FakeFleet([c1, c2, c3]);
    const release = fleet.hold(c1, 'verify-chart');
    await env.startWorker(fleet.activities());
    const first = await env.start(testInput([{ name: 'all', clusters: [c1, c2], approval: 'auto' }]));
    await waitForStatus(first, (s) => s.clusters[0]?.state === 'running');
    // The lock registry lists both clusters as this run's.
    const registry = env.client.workflow.getHandle(lockRegistryId(env.taskQueue));
    const heldOf = async (clusters: string[]) =>
      heldClusters(await registry.query(locksQuery), clusters).map((h) => [h.cluster, h.rollout, h.runId]);
    const { runId } = await first.describe();
    expect(await heldOf([c1, c2, c3])).toEqual([
      [c1, first.workflowId, runId],
      [c2, first.workflowId, runId],
    ]);

    const second = await env.start(testInput([{ name: 'all', clusters: [c3, c2], approval: 'auto' }]));
    const err = await second.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as Error).message).toBe(
      `clusters already taken by another running rollout: ${c2} (held by ${first.workflowId})`,
    );
    expect(fleet.callsFor(c3)).toEqual([]);
    // All or none: the refused rollout took nothing, c3 included.
    expect(await heldOf([c3])).toEqual([]);

    release();
    expect((await first.result()).state).toBe('succeeded');
    // It gave its clusters back as it closed.
    expect(await heldOf([c1, c2, c3])).toEqual([]);
    const third = await env.start(testInput([{ name: 'all', clusters: [c3, c2], approval: 'auto' }]));
    expect((await third.result()).state).toBe('succeeded');
    recorded.push(first.workflowId, second.workflowId, registry.workflowId);
  });

  it('reclaims the clusters of a rollout terminated without giving them back', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const { first, release } = await holdingRollout(c1, c2);
    await first.terminate('stopped by hand');
    const registry = env.client.workflow.getHandle(lockRegistryId(env.taskQueue));
    expect(heldClusters(await registry.query(locksQuery), [c1]).map((h) => h.rollout)).toEqual([first.workflowId]);
    release();

    const second = await env.start(testInput([{ name: 'all', clusters: [c1, c2], approval: 'auto' }]));
    expect((await second.result()).state).toBe('succeeded');
    expect(heldClusters(await registry.query(locksQuery), [c1, c2])).toEqual([]);
  });

  it('frees no cluster when a person terminates the lock registry: it rebuilds from the running rollouts', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const { first, release } = await holdingRollout(c1, c2);
    const registry = env.client.workflow.getHandle(lockRegistryId(env.taskQueue));
    await registry.terminate('by hand');

    const second = await env.start(testInput([{ name: 'all', clusters: [c2, c1], approval: 'auto' }]));
    const err = await second.result().catch((e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as Error).message).toBe(
      `clusters already taken by another running rollout: ${c1} (held by ${first.workflowId})`,
    );
    release();
    expect((await first.result()).state).toBe('succeeded');
    expect(heldClusters(await registry.query(locksQuery), [c1, c2])).toEqual([]);
  });

  it('survives a worker stopped mid-step: a new worker completes it and no completed step runs again', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    const release = fleet.hold(c1, 'chart');
    const worker = await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput([
        { name: 'canary', clusters: [c1], approval: 'auto' },
        { name: 'wave', clusters: [c2], approval: 'auto' },
      ]),
    );
    await waitForStatus(handle, () => fleet.gates.size > 0 && fleet.inFlight === 1);
    await env.stopWorker(worker);
    release();
    await env.startWorker(fleet.activities());
    const result = await handle.result();
    expect(result.state).toBe('succeeded');

    for (const c of [c1, c2]) {
      const done = fleet.callsFor(c).filter((call) => !call.failed);
      const keys = done.map((call) => `${call.activity}:${call.role ?? ''}`);
      expect(new Set(keys).size, `completed steps of ${c}: ${keys.join(', ')}`).toBe(keys.length);
      expect(fleet.releases.get(c)).toEqual({
        operator: { version: '1.5.0', revision: 2 },
        chart: { version: '3.0.0', revision: 2 },
      });
    }
    // The interrupted chart upgrade is the only step that ran twice, and it changed the release once.
    expect(
      fleet
        .callsFor(c1)
        .filter((call) => call.role === 'chart')
        .map((call) => !!call.failed),
    ).toEqual([true, false]);
    recorded.push(handle.workflowId);
  });

  it('records a run with a failure, a retry and a rollback for replay', async () => {
    const [c1, c2] = clusterNames(2) as [string, string];
    const fleet = new FakeFleet([c1, c2]);
    fleet.fail(c1, 'verify-chart', 1);
    fleet.fail(c2, 'verify-chart', Infinity, '3.0.0');
    await env.startWorker(fleet.activities());
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto', bake: '2s' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        { onFailure: { action: 'pause', rollbackScope: 'all' } },
      ),
    );
    await waitForStatus(handle, (s) => s.state === 'awaiting-decision');
    await handle.executeUpdate(retryUpdate, { args: [{ cluster: c1, by: 'gina' }] });
    const waiting = await waitForStatus(handle, (s) => s.state === 'awaiting-decision' && s.currentPhase === 'wave');
    expect(waiting.clusters[1]?.state).toBe('failed');
    await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'gina', scope: 'all' }] });
    expect((await handle.result()).state).toBe('rolled-back');
    recorded.push(handle.workflowId);
  });

  it('replays recorded histories, fresh and committed, without nondeterminism', async () => {
    const fixtures = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
    const histories = [];
    const children = await Promise.all(
      recorded.map(async (id) => {
        const status = await env.client.workflow
          .getHandle(id)
          .query(statusQuery)
          .catch(() => undefined);
        return (status?.clusters ?? []).flatMap((c) => (c.workflowId ? [c.workflowId] : []));
      }),
    );
    recorded.push(...children.flat());
    for (const id of recorded) {
      const history = await env.client.workflow.getHandle(id).fetchHistory();
      histories.push({ workflowId: id, history });
      if (process.env['RECORD_HISTORIES'] === '1') {
        mkdirSync(fixtures, { recursive: true });
        writeFileSync(
          `${fixtures}${recorded.indexOf(id)}.json`,
          // Stack traces in failures carry this checkout's path; it has no place in committed files.
          `{"workflowId":${JSON.stringify(id)},"history":${historyToJSON(history).replaceAll(repoRoot, '<repo>/')}}`,
        );
        histories.pop();
      }
    }
    if (existsSync(fixtures)) {
      for (const f of readdirSync(fixtures).filter((n) => n.endsWith('.json'))) {
        const saved = JSON.parse(readFileSync(fixtures + f, 'utf8')) as { workflowId: string; history: unknown };
        histories.push({ workflowId: saved.workflowId, history: historyFromJSON(saved.history) });
      }
    }
    expect(histories.length).toBeGreaterThanOrEqual(6);
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories,
    );
    let replayed = 0;
    for await (const r of results) {
      expect(r.error, `${r.workflowId}: ${String(r.error)}`).toBeUndefined();
      replayed++;
    }
    expect(replayed).toBe(histories.length);
  });
});

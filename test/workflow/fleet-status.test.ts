import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetPageSize, fleetRowsInResult } from '../../src/domain/fleet.js';
import { componentsOf } from '../../src/plan/components.js';
import { fleetPageQuery } from '../../src/workflows/definitions.js';
import { fleetStatus, type FleetInput } from '../../src/workflows/fleet-status.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv } from '../helpers/temporal.js';

let env: TemporalTestEnv;

beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

const kB = (v: unknown) => Buffer.byteLength(JSON.stringify(v)) / 1024;

describe('fleet check at scale', () => {
  it('returns the clusters not in sync and pages every row, so no payload grows with the fleet', async () => {
    const x = `f${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: 2_500 }, (_, i) => `${x}-c${i + 1}`);
    // Every cluster runs what the plan wants, but 250 run an older chart and 5 have no operator.
    const fleet = new FakeFleet(names, { operator: '1.5.0', chart: '3.0.0' });
    for (const c of names.slice(0, 250))
      fleet.releases.set(c, { operator: { version: '1.5.0', revision: 2 }, chart: { version: '2.9.0', revision: 1 } });
    for (const c of names.slice(-5)) fleet.releases.set(c, { chart: { version: '3.0.0', revision: 2 } });
    await env.startWorker(fleet.activities());
    const rolled = testInput([{ name: 'all', clusters: names }]);
    const input: FleetInput = {
      plan: 'test',
      source: rolled.source,
      components: componentsOf(rolled.plan),
      versions: rolled.versions,
      clusters: names.map((c) => ({ cluster: c, context: `ctx-${c}`, overlays: {}, labels: {} })),
    };
    const handle = await env.client.workflow.start(fleetStatus, {
      taskQueue: env.taskQueue,
      workflowId: `fleet-${x}`,
      args: [input],
    });
    const report = await handle.result();
    expect(report.total).toBe(2_500);
    expect(report.counts).toEqual({ 'in-sync': 2_245, 'version-drift': 250, missing: 5 });
    // The result: the worst first (missing), then drift, at most fleetRowsInResult of them.
    expect(report.rows).toHaveLength(fleetRowsInResult);
    expect(report.rows.slice(0, 5).map((r) => [r.cluster, r.verdict])).toEqual(
      names.slice(-5).map((c) => [c, 'missing']),
    );
    expect(report.rows.every((r) => r.verdict !== 'in-sync')).toBe(true);
    expect(kB(report)).toBeLessThan(512);
    // The history as the server counts it: batches large enough to be stored compressed keep it to about
    // 100 bytes a cluster here (batches of 25, each payload under the codec's line, took 506).
    const { events } = await handle.fetchHistory();
    const stored = Math.max(
      ...(events ?? []).map((e) => Number(e.workflowTaskStartedEventAttributes?.historySizeBytes ?? 0)),
    );
    expect(stored / 2_500).toBeLessThan(200);

    // Every row, in the plan's order, a page at a time (the workflow has closed: the query replays it).
    const first = await handle.query(fleetPageQuery, { offset: 0 });
    expect(first).toMatchObject({ total: 2_500, offset: 0 });
    expect(first.rows).toHaveLength(fleetPageSize);
    expect(kB(first)).toBeLessThan(512);
    const rows = [...first.rows];
    while (rows.length < 2_500) rows.push(...(await handle.query(fleetPageQuery, { offset: rows.length })).rows);
    expect(rows.map((r) => r.cluster)).toEqual(names);
    expect(rows[0]).toMatchObject({ verdict: 'version-drift' });
    expect(rows[300]).toMatchObject({ verdict: 'in-sync' });
    // A page past the end is empty; a limit over the page size is held to it.
    expect((await handle.query(fleetPageQuery, { offset: 2_500 })).rows).toEqual([]);
    expect((await handle.query(fleetPageQuery, { offset: 0, limit: 5_000 })).rows).toHaveLength(fleetPageSize);
  });
});

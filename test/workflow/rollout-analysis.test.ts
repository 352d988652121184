/**
 * Metric analysis against a real Prometheus-API server (VictoriaMetrics, built from Go modules), with
 * series the test writes: a cluster whose error rate goes bad fails its analysis and the phase rolls back;
 * no data, or an endpoint that does not answer, is inconclusive and waits for a person. Fleet doubled.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalysisActivities } from '../../src/adapters/prometheus.js';
import type { RolloutPlanInput } from '../../src/plan/schema.js';
import { freePort } from '../../src/tools/dev-server.js';
import { statusQuery } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { startMetrics, type MetricsServer } from '../helpers/metrics.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

let env: TemporalTestEnv;
let metrics: MetricsServer;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
  metrics = await startMetrics();
}, 300_000);
afterAll(async () => {
  await env?.close();
  await metrics?.stop();
});

const errorRate = (address: string, extra: Record<string, unknown> = {}): RolloutPlanInput['spec']['analysis'] => ({
  address,
  templates: [
    {
      name: 'error-rate',
      // The cluster's error rate against the clusters already rolled, as only a fleet-wide orchestrator can.
      query: 'max(error_rate{cluster="{{cluster}}"}) - max(error_rate{cluster=~"{{done}}"} or vector(0))',
      interval: '1s',
      count: 2,
      successCondition: 'result < 0.05',
      failureCondition: 'result >= 0.1',
      ...extra,
    },
  ],
});

describe('metric analysis', () => {
  it('a cluster whose error rate goes bad fails its analysis, and the phase rolls back; every value is recorded', async () => {
    const x = `a${randomBytes(3).toString('hex')}`;
    const [c1, c2] = [`${x}-c1`, `${x}-c2`];
    await metrics.write([`error_rate{cluster="${c1}"} 0.01`, `error_rate{cluster="${c2}"} 0.4`]);
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker({ ...fleet.activities(), ...createAnalysisActivities() });
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        {
          analysis: errorRate(metrics.address),
          verify: { interval: '1s', analyses: ['error-rate'] },
          onFailure: { action: 'rollback' },
        },
      ),
    );
    expect((await handle.result()).state).toBe('rolled-back');
    const status = await handle.query(statusQuery);
    const [canary, wave] = status.clusters;
    expect(canary?.analyses?.[0]).toMatchObject({
      phase: 'successful',
      query: `max(error_rate{cluster="${c1}"}) - max(error_rate{cluster=~"^$"} or vector(0))`,
    });
    expect(canary?.analyses?.[0]?.measurements.map((m) => [m.phase, m.value])).toEqual([
      ['successful', 0.01],
      ['successful', 0.01],
    ]);
    expect(wave).toMatchObject({ state: 'rolled-back', failedStep: 'analysis' });
    expect(wave?.analyses?.[0]?.query).toBe(
      `max(error_rate{cluster="${c2}"}) - max(error_rate{cluster=~"${c1}"} or vector(0))`,
    );
    expect(wave?.analyses?.[0]?.measurements[0]).toMatchObject({ phase: 'failed' });
    expect(wave?.analyses?.[0]?.measurements[0]?.value).toBeCloseTo(0.39, 5);
    expect(status.reason).toMatch(/analysis error-rate failed: 1 of 1 measurements failed \(0\.39/);
  });

  it('no data is inconclusive: the rollout waits for a person though the plan says roll back', async () => {
    const x = `a${randomBytes(3).toString('hex')}`;
    const [c1] = [`${x}-c1`];
    const fleet = new FakeFleet([c1]);
    await env.startWorker({ ...fleet.activities(), ...createAnalysisActivities() });
    const handle = await env.start(
      testInput([{ name: 'canary', clusters: [c1], approval: 'auto' }], {
        analysis: errorRate(metrics.address, { query: 'error_rate{cluster="{{cluster}}"}' }),
        verify: { interval: '1s', analyses: ['error-rate'] },
        onFailure: { action: 'rollback' },
      }),
    );
    const waiting = await waitForStatus(handle, (s) => s.state === 'awaiting-decision', 60_000);
    expect(waiting.clusters[0]).toMatchObject({ state: 'failed', inconclusive: true, failedStep: 'analysis' });
    expect(waiting.reason).toMatch(/analysis error-rate is inconclusive: 1 of 1 measurements were neither/);
    await handle.terminate('test over');
  });

  it('an endpoint that does not answer counts toward consecutiveErrorLimit, not toward failures', async () => {
    const x = `a${randomBytes(3).toString('hex')}`;
    const [c1] = [`${x}-c1`];
    const fleet = new FakeFleet([c1]);
    await env.startWorker({ ...fleet.activities(), ...createAnalysisActivities() });
    const down = `http://127.0.0.1:${await freePort()}`;
    const handle = await env.start(
      testInput([{ name: 'canary', clusters: [c1], approval: 'auto' }], {
        analysis: errorRate(down, { count: 5, consecutiveErrorLimit: 2 }),
        verify: { interval: '1s', analyses: ['error-rate'] },
        onFailure: { action: 'rollback' },
      }),
    );
    const waiting = await waitForStatus(handle, (s) => s.state === 'awaiting-decision', 60_000);
    const record = waiting.clusters[0]?.analyses?.[0];
    expect(record?.measurements.map((m) => m.phase)).toEqual(['error', 'error', 'error']);
    expect(record?.measurements[0]?.error).toBe('ECONNREFUSED');
    expect(waiting.reason).toMatch(/is inconclusive: 3 measurements in a row could not be taken: ECONNREFUSED/);
    await handle.terminate('test over');
  });
  it('runs the analyses again during the bake: a cluster that goes bad while baking fails, and the phase rolls back', async () => {
    const x = `b${randomBytes(3).toString('hex')}`;
    const [c1, c2] = [`${x}-c1`, `${x}-c2`];
    await metrics.write([`error_rate{cluster="${c1}"} 0.01`]);
    const fleet = new FakeFleet([c1, c2]);
    await env.startWorker({ ...fleet.activities(), ...createAnalysisActivities() });
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto', bake: '30s' },
          { name: 'wave', clusters: [c2], approval: 'auto' },
        ],
        {
          analysis: errorRate(metrics.address, { count: 10 }),
          verify: { interval: '1s', analyses: ['error-rate'] },
          onFailure: { action: 'rollback' },
        },
      ),
    );
    // Healthy through its verification's analysis; it goes bad once the phase bakes.
    await waitForStatus(handle, (s) => s.phases[0]?.state === 'baking', 60_000);
    await metrics.write([`error_rate{cluster="${c1}"} 0.5`]);
    expect((await handle.result()).state).toBe('rolled-back');
    const status = await handle.query(statusQuery);
    const [canary] = status.clusters;
    expect(canary).toMatchObject({ state: 'rolled-back', failedStep: 'analysis' });
    expect(canary?.error).toMatch(/during the bake of phase "canary": analysis error-rate failed/);
    const [after, during] = canary?.analyses ?? [];
    expect(after).toMatchObject({ name: 'error-rate', phase: 'successful' });
    expect(during).toMatchObject({ name: 'error-rate (bake)', phase: 'failed' });
    expect(during?.measurements.at(-1)).toMatchObject({ phase: 'failed', value: 0.5 });
    expect(fleet.callsFor(c2), 'the wave is never touched').toEqual([]);
  });
});

import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure, type MetricMeter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { clusterStep } from '../../src/activities/context.js';
import { Unreachable } from '../../src/adapters/errors.js';
import { classifyHelm, HelmClient, HelmError } from '../../src/adapters/helm.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import { classify } from '../../src/adapters/kube-errors.js';

const target = { cluster: 'lab-1', context: 'kwok-lab-1' };

function flaky(failures: number, err: () => Error = () => new Unreachable('connect ECONNREFUSED 127.0.0.1:6443')) {
  let calls = 0;
  return {
    run: () => (++calls <= failures ? Promise.reject(err()) : Promise.resolve('done')),
    calls: () => calls,
  };
}

describe('classifying failures', () => {
  it('treats network errors, throttling and server errors as an unreachable cluster', () => {
    const refused = Object.assign(
      new Error('request to https://127.0.0.1:1/api failed, reason: connect ECONNREFUSED'),
      {
        code: 'ECONNREFUSED',
      },
    );
    expect(classify(refused, 'list ConfigMap in kwok-lab-1')).toBeInstanceOf(Unreachable);
    expect(classify(new Error('socket hang up'), 'watch')).toBeInstanceOf(Unreachable);
    expect(classify(new ApiException(503, 'unavailable', '{}', {}), 'get')).toBeInstanceOf(Unreachable);
    expect(classify(new ApiException(429, 'slow down', '{}', {}), 'get')).toBeInstanceOf(Unreachable);
  });

  it('keeps final answers final and conflicts retryable but not "unreachable"', () => {
    const missing = classify(new ApiException(404, 'nope', '{"message":"configmaps \\"x\\" not found"}', {}), 'get x');
    expect(missing).toBeInstanceOf(ApplicationFailure);
    expect((missing as ApplicationFailure).nonRetryable).toBe(true);
    expect(missing.message).toBe('get x: 404 configmaps "x" not found');
    const conflict = classify(new ApiException(409, 'conflict', '{}', {}), 'update');
    expect(conflict).not.toBeInstanceOf(Unreachable);
    expect(conflict).not.toBeInstanceOf(ApplicationFailure);
  });

  it("reads Helm's words: an unreachable cluster or repository is not a verdict on the release", () => {
    const helm = (stderr: string) => classifyHelm(new HelmError('helm upgrade on kwok-lab-1', 1, stderr));
    expect(
      helm(
        'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp: connect: connection refused',
      ),
    ).toBeInstanceOf(Unreachable);
    expect(
      helm(
        'Error: looks like "http://127.0.0.1:8879" is not a valid chart repository or cannot be reached: Get "http://127.0.0.1:8879/index.yaml": dial tcp 127.0.0.1:8879: connect: connection refused',
      ),
    ).toBeInstanceOf(Unreachable);
    const missing = helm('Error: chart "express" version "2.7.0" not found in http://127.0.0.1:8879 repository');
    expect(missing).toBeInstanceOf(ApplicationFailure);
    expect((missing as ApplicationFailure).type).toBe('HelmFailed');
    expect(
      helm('Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress'),
    ).not.toBeInstanceOf(ApplicationFailure);
  });

  it('a chart repository or registry that refuses the worker (401, 403) is final at once, with real Helm', async () => {
    // A classic repository and an OCI registry behind auth, on loopback, answering every request 401.
    const server = createServer((_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new HelmClient(await ensureTool('helm'));
    const dir = mkdtempSync(join(tmpdir(), 'pull-'));
    try {
      for (const [chart, repo] of [
        ['express', `http://${host}`],
        [`oci://${host}/charts/express`, undefined],
      ] as const) {
        const err = await client.pull(chart, '1.0.0', repo, dir).catch((e: unknown) => e);
        expect(err, chart).toBeInstanceOf(ApplicationFailure);
        expect((err as ApplicationFailure).nonRetryable).toBe(true);
        expect((err as ApplicationFailure).message).toMatch(/^the chart repository refused the worker/);
      }
    } finally {
      server.close();
    }
  });
});

/** A metric meter that records what gauges are set to, for the unreachable-clusters metric. */
function recordingMeter() {
  const sets: { name: string; value: number; tags: Record<string, unknown> }[] = [];
  const meter = {
    createGauge: (name: string) => ({
      set: (value: number, tags: Record<string, unknown> = {}) => sets.push({ name, value, tags }),
    }),
    createCounter: () => ({ add: () => undefined }),
    createHistogram: () => ({ record: () => undefined }),
    withTags: () => meter,
  };
  return { meter: meter as unknown as MetricMeter, sets };
}

describe('a step on an unreachable cluster', () => {
  it('retries with backoff until the cluster answers, and says since when it is unreachable meanwhile', async () => {
    const metrics = recordingMeter();
    const env = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() }, { metricMeter: metrics.meter });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const step = flaky(2);
    const result = await env.run(() => clusterStep(target, Date.now() + 60_000, step.run));
    expect(result).toBe('done');
    expect(step.calls()).toBe(3);
    expect(beats[0]).toMatchObject({
      unreachable: { attempts: 1, error: 'connect ECONNREFUSED 127.0.0.1:6443', since: expect.any(String) as unknown },
    });
    // Every heartbeat (one a second, and one per attempt) carries the latest report: attempts 1, then 2.
    const attempts = beats.map((b) => (b as { unreachable?: { attempts: number } }).unreachable?.attempts);
    expect(attempts.filter((a, i) => a !== attempts[i - 1])).toEqual([1, 2, undefined]);
    expect(beats.at(-1), 'once it answers, the report no longer says unreachable').toEqual({});
    // The metric: 1 from the first refusal, 0 once it answered.
    // The metric, beside the SDK's own labels (activity type, namespace, task queue): 1 from the first
    // refusal, 0 once it answered.
    expect(metrics.sets.map((m) => [m.name, m.value, m.tags['cluster']])).toEqual([
      ['phased_rollout_unreachable_clusters', 1, 'lab-1'],
      ['phased_rollout_unreachable_clusters', 0, 'lab-1'],
    ]);
  });

  it('fails at the deadline, naming the cluster, since when and how often it tried', async () => {
    const env = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() });
    const step = flaky(Infinity);
    const started = Date.now();
    const err = await env.run(() => clusterStep(target, Date.now() + 2_500, step.run)).catch((e: unknown) => e);
    // Tries at 0 s and 1 s, then at the deadline (2.5 s), not giving up when the 2 s backoff would pass it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('ClusterUnreachable');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(
      /^lab-1 \(context kwok-lab-1\) unreachable since \S+, 3 attempts until the step's timeout: connect ECONNREFUSED/,
    );
  });

  it('passes a final failure through at once', async () => {
    const env = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() });
    const step = flaky(Infinity, () => ApplicationFailure.nonRetryable('forbidden', 'KubernetesApi403'));
    const err = await env.run(() => clusterStep(target, Date.now() + 60_000, step.run)).catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('KubernetesApi403');
    expect(step.calls()).toBe(1);
  });
});

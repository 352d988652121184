import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notRolledOut } from '../../src/activities/checks.js';
import { fieldAt } from '../../src/cache-checks/object-field.js';
import { waitForHttp } from '../../src/cache-checks/http.js';
import { cacheCheckFor } from '../../src/cache-checks/index.js';
import type { Kube } from '../../src/adapters/kube.js';
import { chartVersionOf, mergeValues, valuesDigest } from '../../src/adapters/helm.js';
import { synchronizerJobName } from '../../src/activities/synchronizer.js';
import { Unreachable } from '../../src/adapters/errors.js';
import { createKubeFactory } from '../../src/adapters/kube.js';
import { silence, waitForObjects } from '../../src/adapters/kube-wait.js';

describe('helm helpers', () => {
  it('reads the version out of a chart reference as helm history prints it', () => {
    expect(chartVersionOf('express-2.1.0')).toBe('2.1.0');
    expect(chartVersionOf('express-operator-1.2.0')).toBe('1.2.0');
    expect(chartVersionOf('my-chart-3.0.0-rc.1')).toBe('3.0.0-rc.1');
  });

  it('merges values like helm -f: maps deeply, everything else replaced', () => {
    expect(mergeValues([{ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3] }, e: true }, null])).toEqual({
      a: { b: 1, c: [3] },
      d: 'x',
      e: true,
    });
  });

  it('digests values independently of key order', () => {
    expect(valuesDigest({ a: 1, b: { c: 2, d: 3 } })).toBe(valuesDigest({ b: { d: 3, c: 2 }, a: 1 }));
    expect(valuesDigest({ a: 1 })).not.toBe(valuesDigest({ a: 2 }));
  });
});

describe('synchronizer Job names', () => {
  it('are the same for the same cluster, version and cache key, and valid DNS names', () => {
    const a = synchronizerJobName('lab-1', '2.1.0', 'lab-1/2.1.0');
    expect(a).toBe(synchronizerJobName('lab-1', '2.1.0', 'lab-1/2.1.0'));
    expect(a).not.toBe(synchronizerJobName('lab-2', '2.1.0', 'lab-2/2.1.0'));
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(synchronizerJobName('c', '1.0.0-rc.1+build.5'.repeat(4), 'k').length).toBeLessThanOrEqual(63);
  });
});

describe('workload readiness', () => {
  const deployment = (gen: number, observed: number, status: Record<string, number>): V1Deployment => ({
    metadata: { generation: gen },
    spec: { replicas: 2, selector: {}, template: {} },
    status: { observedGeneration: observed, ...status },
  });

  it('says what is missing until a Deployment is rolled out at its generation', () => {
    expect(notRolledOut('Deployment', deployment(2, 1, {}))).toMatch(/generation 2 not yet observed/);
    expect(notRolledOut('Deployment', deployment(2, 2, { updatedReplicas: 1, replicas: 2 }))).toBe('1/2 updated');
    expect(notRolledOut('Deployment', deployment(2, 2, { updatedReplicas: 2, replicas: 3, readyReplicas: 2 }))).toMatch(
      /not all Ready; old pods still running/,
    );
    expect(
      notRolledOut('Deployment', deployment(2, 2, { updatedReplicas: 2, replicas: 2, readyReplicas: 2 })),
    ).toBeUndefined();
  });

  it('reads dotted fields', () => {
    expect(fieldAt({ data: { readyVersion: '2.1.0' } }, 'data.readyVersion')).toBe('2.1.0');
    expect(fieldAt({ data: {} }, 'data.readyVersion.x')).toBeUndefined();
  });
});

describe('HTTP checks', () => {
  let url = '';
  let healthy = false;
  const server = createServer((_req, res) => {
    res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok 2.1.0' : 'warming up');
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('waits until the endpoint answers as expected', async () => {
    healthy = false;
    setTimeout(() => (healthy = true), 1500);
    await expect(waitForHttp({ url, expectStatus: 200, bodyContains: '2.1.0' }, Date.now() + 20_000)).resolves.toBe(
      `${url}: HTTP 200`,
    );
  });

  it("the fleet's look and the rollout's wait judge a cache alike: the body must contain what the check says", async () => {
    healthy = true;
    const kube = undefined as unknown as Kube; // an HTTP check reads no cluster
    const check = { type: 'http' as const, url, expectStatus: 200, bodyContains: '2.2.0' };
    expect(await cacheCheckFor(check).observe(check, { kube, cluster: 'c1' })).toEqual({
      ready: false,
      observed: `${url}: HTTP 200 without "2.2.0"`,
    });
    await expect(cacheCheckFor(check).waitReady(check, { kube, cluster: 'c1' }, Date.now() + 1_000)).rejects.toThrow(
      `${url}: expected HTTP 200 with "2.2.0", last saw HTTP 200 without "2.2.0"`,
    );
    const ready = { ...check, bodyContains: '2.1.0' };
    expect(await cacheCheckFor(ready).observe(ready, { kube, cluster: 'c1' })).toEqual({
      ready: true,
      observed: `${url}: HTTP 200`,
    });
  });

  it('fails at the deadline naming the last answer', async () => {
    healthy = false;
    await expect(waitForHttp({ url, expectStatus: 200 }, Date.now() + 2_500)).rejects.toThrow(
      `${url}: expected HTTP 200, last saw HTTP 503`,
    );
  });
});

describe('bounded parallelism', () => {
  it('keeps the items order and never runs more than the limit at once', async () => {
    const { mapLimited } = await import('../../src/common/limited.js');
    let inFlight = 0;
    let most = 0;
    const out = await mapLimited([50, 10, 30, 0, 20], 2, async (ms) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return ms * 2;
    });
    expect(out).toEqual([100, 20, 60, 0, 40]);
    expect(most).toBe(2);
    expect(await mapLimited([], 4, () => Promise.resolve(1))).toEqual([]);
  });
});

describe('waits on an API server that accepts connections and answers nothing', () => {
  // A frozen API server: the socket is accepted, no request is ever answered. Once `answersLists` is
  // set, it answers discovery and the first list, then freezes: the watch and /version hang.
  const held: ServerResponse[] = [];
  let answersLists = false;
  const frozen = createServer((req, res) => {
    const json = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (answersLists && req.url === '/api/v1') {
      return json({
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list', 'watch'] }],
      });
    }
    if (
      answersLists &&
      req.url?.startsWith('/api/v1/namespaces/express/configmaps') &&
      !req.url.includes('watch=true')
    ) {
      return json({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] });
    }
    held.push(res);
  });
  let kube: ReturnType<ReturnType<typeof createKubeFactory>>;
  const saved = { ...silence };
  beforeAll(async () => {
    await new Promise<void>((r) => frozen.listen(0, '127.0.0.1', r));
    const port = (frozen.address() as AddressInfo).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'frozen', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'frozen', cluster: 'frozen', user: 'u' }],
      currentContext: 'frozen',
    });
    kube = createKubeFactory(() => kc)('frozen');
    Object.assign(silence, { afterMs: 600, probeTimeoutMs: 300 });
  });
  afterAll(async () => {
    Object.assign(silence, saved);
    for (const res of held) res.destroy();
    frozen.closeAllConnections();
    await new Promise((r) => frozen.close(r));
  });

  /** A wait for the lab's cache ConfigMap that never sees what it waits for, with a minute to go. */
  const waitForCache = () =>
    waitForObjects({
      kube,
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'express',
      check: () => undefined,
      deadline: Date.now() + 60_000,
      describe: () => 'the cache',
    });

  it('says the cluster is not answering (Unreachable, so the step runs again) instead of waiting silently', async () => {
    const started = Date.now();
    const waited = waitForCache();
    await expect(waited).rejects.toThrow(Unreachable);
    await expect(waited).rejects.toThrow(
      /ConfigMap in frozen: not answering \(nothing heard for \d+ s, and no answer to \/version/,
    );
    expect(Date.now() - started, 'well before the step deadline').toBeLessThan(5_000);
  });

  it('says so too when the server answered the list, then froze during the watch', async () => {
    answersLists = true;
    const waited = waitForCache();
    await expect(waited).rejects.toThrow(/ConfigMap in frozen: not answering/);
    expect(
      held.some((r) => r.req.url?.includes('watch=true')),
      'it was watching when the server froze',
    ).toBe(true);
  });

  it('takes its first look even when it starts past its deadline (a retry after its worker died): it ends on what it saw', async () => {
    answersLists = true;
    const late = (check: (items: readonly unknown[]) => string | undefined) =>
      waitForObjects({
        kube,
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'express',
        check,
        deadline: Date.now() - 5_000,
        describe: (items) => `the cache (${items.length} seen)`,
      });
    await expect(late((items) => (items.length === 0 ? 'looked' : undefined))).resolves.toBe('looked');
    await expect(late(() => undefined)).rejects.toThrow(/^timed out waiting for the cache \(0 seen\)$/);
  });
});

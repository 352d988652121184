/**
 * `npm run bench`: how quickly the activities notice Kubernetes conditions, how many API requests they make
 * while waiting, and how their wall time compares with a plain script (helm --wait, kubectl wait) doing the
 * same steps on the same lab cluster. Writes docs/benchmarks.md. A benchmark, not a test: it asserts nothing.
 */
import type { ReleaseSpec } from '../src/plan/schema.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, Watch, type V1ConfigMap, type V1Job } from '@kubernetes/client-node';
import { createCheckActivities } from '../src/activities/checks.js';
import { createKubeFactory } from '../src/adapters/kube.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { HelmClient } from '../src/adapters/helm.js';
import { SourceFiles } from '../src/adapters/source.js';
import { createReleaseActivities } from '../src/activities/releases.js';
import { createDrivers } from '../src/drivers/index.js';
import { createSynchronizerActivities, renderJob } from '../src/activities/synchronizer.js';
import { parsePlan } from '../src/plan/load.js';
import { renderCacheCheck } from '../src/plan/template.js';
import { freePort } from '../src/tools/dev-server.js';
import { ensureTool } from '../src/tools/toolchain.js';
import { pinSource } from '../src/cli/source.js';
import type { PinnedSource } from '../src/domain/types.js';
import { activityRunContext } from '../src/activities/context.js';

const exec = promisify(execFile);
const root = new URL('../', import.meta.url).pathname;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);

process.env['LAB_DIR'] = mkdtempSync(join(tmpdir(), 'lab-bench-'));
process.env['LAB_REPO_PORT'] = String(await freePort());
const lab = await import('../lab/lab.js');
const state = await lab.labUp(1, (l) => console.error(l));
const context = 'kwok-lab-1';
const kc = new KubeConfig();
kc.loadFromFile(state.kubeconfig);
kc.setCurrentContext(context);
const core = kc.makeApiClient(CoreV1Api);
const helm = await ensureTool('helm');
const kubectl = await ensureTool('kubectl');
const kube = createKubeFactory(() => {
  const k = new KubeConfig();
  k.loadFromFile(state.kubeconfig);
  return k;
});
const files = new SourceFiles({ git: 'git', cacheDir: join(tmpdir(), 'bench-sources') });
const adapters = { kube, helm: new HelmClient(helm, state.kubeconfig, activityRunContext), files };
const deps = { ...adapters, drivers: createDrivers(adapters) };

/** Each call runs as an activity would, under the SDK's MockActivityEnvironment, scheduled now. */
function asActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      (...args: never[]) => new MockActivityEnvironment({ scheduledTimestampMs: Date.now() }).run(fn, ...args),
    ]),
  ) as T;
}
const releases = asActivities(createReleaseActivities(deps));
const sync = asActivities(createSynchronizerActivities(deps));
const checks = asActivities(createCheckActivities(deps));
const plan = parsePlan(
  readFileSync(join(root, 'rollout-plans/lab.yaml'), 'utf8').replaceAll('http://127.0.0.1:8879', state.repoUrl),
  'lab.yaml',
);
/** The plan's cache check for a version, its placeholders filled in as the workflow fills them. */
const cacheFor = (version: string, cacheKey: string) => {
  const cache = plan.spec.cache!;
  return { ...cache, check: renderCacheCheck(cache.check, { cluster: 'lab-1', version, cacheKey }) };
};
// Pinned as `rollout start` pins it: the activities read only pinned files.
const source = (await pinSource(plan, join(root, 'rollout-plans'))).source as Extract<PinnedSource, { kind: 'local' }>;
const target = { cluster: 'lab-1', context };

/** When an independent raw watch first sees `pred` true for the named object. */
function seenAt<T>(path: string, name: string, pred: (o: T) => boolean): Promise<number> {
  return new Promise((resolve) => {
    void new Watch(kc).watch(
      path,
      { fieldSelector: `metadata.name=${name}` },
      (_t, o: T) => {
        if (pred(o)) resolve(performance.now());
      },
      () => undefined,
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const results: string[] = [];

// 1. Cache marked -> waitForCacheReady returns. The bench writes the value itself, so T0 is exact.
{
  const lags: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const version = `9.0.${i}`;
    const waiting = checks.waitForCacheReady({ ...target, cache: cacheFor(version, 'k'), version, cacheKey: 'k' });
    await new Promise((r) => setTimeout(r, 1500));
    const cm = await core
      .readNamespacedConfigMap({ name: 'express-cache', namespace: 'express' })
      .catch(() => undefined);
    const body: V1ConfigMap = {
      metadata: { name: 'express-cache', namespace: 'express' },
      data: { readyVersion: version },
    };
    const t0 = performance.now();
    if (cm)
      await core.replaceNamespacedConfigMap({
        name: 'express-cache',
        namespace: 'express',
        body: { ...cm, data: body.data },
      });
    else await core.createNamespacedConfigMap({ namespace: 'express', body });
    await waiting;
    lags.push(performance.now() - t0);
  }
  results.push(
    `| cache marked ready (ConfigMap field) -> waitForCacheReady returns | ${median(lags).toFixed(0)} ms | ${Math.max(...lags).toFixed(0)} ms |`,
  );
}

// 2. Job succeeded -> runSynchronizerJob returns, against an independent watch of the same Job.
{
  const lags: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const input = {
      ...target,
      synchronizer: plan.spec.synchronizer!,
      version: `8.0.${i}`,
      cacheKey: `k${i}`,
      source,
      rolloutId: 'bench',
    };
    const name =
      (await renderJob(input, join(source.baseDir, plan.spec.synchronizer!.template.file!))).metadata?.name ?? '';
    const seen = seenAt<V1Job>('/apis/batch/v1/namespaces/express/jobs', name, (j) =>
      (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True'),
    );
    await sync.runSynchronizerJob(input);
    const done = performance.now();
    lags.push(done - (await seen));
    await sync.cleanupSynchronizerJob({ ...target, version: input.version, namespace: 'express', timeout: '1m' });
  }
  results.push(
    `| synchronizer Job succeeded (seen by a raw watch) -> runSynchronizerJob returns | ${median(lags).toFixed(0)} ms | ${Math.max(...lags).toFixed(0)} ms |`,
  );
}

// 3. API requests per minute while waiting on a condition that does not come for 60 s.
const kubeForCount = kube(context);
let requests = 0;
// Counted by wrapping the clients the waits use (lists and watch opens), not inside product code.
const list = kubeForCount.objects.list.bind(kubeForCount.objects);
kubeForCount.objects.list = (...args: Parameters<typeof list>) => {
  requests++;
  return list(...args);
};
const watch = kubeForCount.watch.watch.bind(kubeForCount.watch);
kubeForCount.watch.watch = (...args: Parameters<typeof watch>) => {
  requests++;
  return watch(...args);
};
const before = requests;
const t0 = Date.now();
await checks
  .waitForCacheReady({
    ...target,
    cache: { ...cacheFor('never', 'k'), timeout: '60s' },
    version: 'never',
    cacheKey: 'k',
  })
  .catch(() => undefined);
const perMinute = ((requests - before) * 60_000) / (Date.now() - t0);

// 4. Our activities vs a plain script, for: upgrade chart, run synchronizer Job, wait for cache, verify.
async function ours(version: string) {
  const t = performance.now();
  await releases.upgradeRelease({
    ...target,
    component: 'chart',
    release: plan.spec.release.chart as ReleaseSpec,
    version,
    source,
    overlay: '../overlays/lab/lab-1/values.yaml',
    rolloutId: 'bench',
  });
  const input = {
    ...target,
    synchronizer: plan.spec.synchronizer!,
    version,
    cacheKey: `lab-1/${version}`,
    source,
    rolloutId: 'bench',
  };
  await sync.runSynchronizerJob(input);
  await checks.waitForCacheReady({
    ...target,
    cache: cacheFor(version, input.cacheKey),
    version,
    cacheKey: input.cacheKey,
  });
  await sync.cleanupSynchronizerJob({ ...target, version, namespace: 'express', timeout: '1m' });
  await checks.verifyWorkloads({
    ...target,
    release: plan.spec.release.chart as ReleaseSpec,
    verify: { ...plan.spec.verify, window: '0s' },
    version,
  });
  return performance.now() - t;
}
async function script(version: string) {
  const t = performance.now();
  const kctx = ['--kubeconfig', state.kubeconfig, '--context', context];
  await exec(helm, [
    'upgrade',
    '--install',
    'express',
    'express',
    '--repo',
    state.repoUrl,
    '--version',
    version,
    '-n',
    'express',
    '-f',
    join(root, 'overlays/base.yaml'),
    '-f',
    join(root, 'overlays/lab/lab-1/values.yaml'),
    '--wait',
    '--timeout',
    '120s',
    '--kube-context',
    context,
    '--kubeconfig',
    state.kubeconfig,
  ]);
  const job = await renderJob(
    {
      ...target,
      synchronizer: plan.spec.synchronizer!,
      version,
      cacheKey: 'script',
      rolloutId: 'script',
    },
    join(source.baseDir, plan.spec.synchronizer!.template.file!),
  );
  const jobName = `script-${version.replace(/\./g, '-')}`;
  job.metadata = { ...job.metadata, name: jobName };
  const file = join(tmpdir(), `${jobName}.json`);
  writeFileSync(file, JSON.stringify(job));
  await exec(kubectl, [...kctx, 'apply', '-f', file]);
  await exec(kubectl, [
    ...kctx,
    '-n',
    'express',
    'wait',
    '--for=condition=complete',
    `job/${jobName}`,
    '--timeout=120s',
  ]);
  await exec(kubectl, [
    ...kctx,
    '-n',
    'express',
    'wait',
    `--for=jsonpath={.data.readyVersion}=${version}`,
    'configmap/express-cache',
    '--timeout=120s',
  ]);
  await exec(kubectl, [...kctx, '-n', 'express', 'delete', 'job', jobName, '--wait=false']);
  return performance.now() - t;
}
// Every run rolls a version nobody rolled before, so neither side finds work already done.
const oursMs: number[] = [];
const scriptMs: number[] = [];
const fresh = Array.from({ length: rounds }, (_, i) => [`3.${i}.0`, `4.${i}.0`] as const);
for (const v of fresh.flat()) await lab.publishChart(helm, join(state.dir, 'repo'), 'express', v);
await lab.indexRepo(helm, join(state.dir, 'repo'));
for (const [mine, theirs] of fresh) {
  oursMs.push(await ours(mine));
  scriptMs.push(await script(theirs));
}
await lab.labDown(() => undefined);

const md = `# Benchmarks

Measured with \`npm run bench\` (${rounds} rounds; medians) on one lab cluster (kwok, real control plane,
Kubernetes ${'1.36.3'}) on this project's standard machine: ${cpus().length} cores. Written by bench/waits.ts on ${new Date().toISOString().slice(0, 10)}.

## How fast waits notice a condition

| condition becomes true in the API server -> activity returns | median | max |
| --- | --- | --- |
${results.join('\n')}

The activities list, then watch from the list's resourceVersion; there is no polling interval to wait out.
This is the activity's own latency; Temporal adds its activity-completion round trip (a few ms on the dev
server) before the workflow schedules the next step.

## API requests while waiting

Waiting 60 s for a cache that never becomes ready: **${perMinute.toFixed(1)} Kubernetes API requests per minute**
per cluster (one list, one watch; an ended watch is re-opened from the last resourceVersion, a re-list only on 410 Gone). A 2-second poll would make 30.

## Activities vs a plain script

The same steps on the same cluster: upgrade the chart, run the synchronizer Job, wait for the cache, verify
the release's workloads. Script: \`helm upgrade --install --wait\`, \`kubectl apply\`, \`kubectl wait --for=condition=complete\`,
\`kubectl wait --for=jsonpath\`.

| | median wall time |
| --- | --- |
| activities (this project) | ${(median(oursMs) / 1000).toFixed(2)} s |
| plain script | ${(median(scriptMs) / 1000).toFixed(2)} s |
| ratio (activities / script) | ${(median(oursMs) / median(scriptMs)).toFixed(2)} |

Each run rolls a version not rolled before, so neither side skips work. The chart's pre-upgrade migration
hook takes 5 s in the lab, in both columns. The script waits in \`helm --wait\` for the workloads; the
activities upgrade without --wait and then verify with watches (plus a verify window, set to 0 here).
`;
// Keep the history-size section that bench/history.ts appends.
const file = join(root, 'docs/benchmarks.md');
const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
const historyAt = previous.indexOf('\n## History size for a large fleet');
writeFileSync(file, md + (historyAt >= 0 ? previous.slice(historyAt) : ''));
console.log(md);
process.exit(0);

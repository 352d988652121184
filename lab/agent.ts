/**
 * The lab agent, a background process of the lab (never of the product):
 * - serves the lab's chart repository on loopback (index.yaml and packaged charts);
 * - stands in for the synchronizer's container: in a real cluster that container writes the cache; in
 *   the lab nothing runs inside pods, so when a synchronizer Job succeeds the agent marks the cache ready
 *   for the Job's version (ConfigMap express-cache, data.readyVersion) unless the cluster's lab-faults
 *   ConfigMap lists that version under badCacheVersions.
 */
import { appendFileSync, createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, BatchV1Api, type V1Job } from '@kubernetes/client-node';
import { badMetricsFile, readState, repoPort } from './lab.js';

const dir = process.argv[2] ?? '';
const logFile = process.env['LAB_AGENT_LOG'];
const log = (msg: string) => {
  const line = `${new Date().toISOString()} ${msg}\n`;
  if (logFile) appendFileSync(logFile, line);
  else process.stderr.write(line);
};

const repo = join(dir, 'repo');
createServer((req, res) => {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')).replace(/^(\.\.[/\\])+/, '');
  const file = join(repo, path);
  if (!file.startsWith(repo) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': file.endsWith('.yaml') ? 'text/yaml' : 'application/gzip' });
  createReadStream(file).pipe(res);
})
  .on('error', (err) => {
    log(`chart repository cannot listen on 127.0.0.1:${repoPort()}: ${String(err)}`);
    process.exit(1);
  })
  .listen(repoPort(), '127.0.0.1', () => log(`chart repository on http://127.0.0.1:${repoPort()}`));

const watched = new Set<string>();

/** Watches one cluster's synchronizer Jobs; an informer re-lists when its watch ends. */
function watchCluster(cluster: string, kubeconfig: string): void {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(`kwok-${cluster}`);
  if (!kc.getCurrentCluster()) throw new Error(`context kwok-${cluster} is not in ${kubeconfig} yet`);
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const selector = 'phased-rollout.dev/synchronizer=true';
  const informer = makeInformer(
    kc,
    '/apis/batch/v1/jobs',
    () => batch.listJobForAllNamespaces({ labelSelector: selector }),
    selector,
  );
  const succeeded = new Map<string, V1Job>();
  const onJob = (job: V1Job) => {
    const done = job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
    if (!done) return;
    succeeded.set(`${job.metadata?.namespace}/${job.metadata?.name}`, job);
    void markCache(cluster, core, job);
  };
  informer.on('add', onJob);
  informer.on('update', onJob);
  informer.on('delete', (job: V1Job) => succeeded.delete(`${job.metadata?.namespace}/${job.metadata?.name}`));
  informer.on('error', (err: unknown) => {
    log(`${cluster}: watch error ${String(err)}; restarting in 2s`);
    setTimeout(() => void informer.start(), 2_000);
  });
  void informer.start().then(() => log(`${cluster}: watching synchronizer Jobs`));

  // When a bad-cache fault is switched off, Jobs that already succeeded get their cache marked after all,
  // as a real synchronizer's output would become usable once the store is healthy again.
  const faults = makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
    core.listNamespacedConfigMap({ namespace: 'default' }),
  );
  faults.on('update', (cm) => {
    if (cm.metadata?.name === 'lab-faults') succeeded.forEach((job) => void markCache(cluster, core, job));
  });
  faults.on('error', () => setTimeout(() => void faults.start(), 2_000));
  void faults.start();
}

async function markCache(cluster: string, core: CoreV1Api, job: V1Job): Promise<void> {
  const version = job.metadata?.labels?.['phased-rollout.dev/version'];
  const namespace = job.metadata?.namespace ?? 'default';
  if (!version) return;
  const faults = await core
    .readNamespacedConfigMap({ name: 'lab-faults', namespace: 'default' })
    .catch(() => undefined);
  if ((faults?.data?.['badCacheVersions'] ?? '').split(',').includes(version)) {
    log(
      `${cluster}: Job ${job.metadata?.name} succeeded, but ${version} is a bad cache (lab fault): not marking it ready`,
    );
    return;
  }
  const body = {
    metadata: { name: 'express-cache', namespace },
    data: { readyVersion: version, cacheKey: job.metadata?.annotations?.['phased-rollout.dev/cache-key'] ?? '' },
  };
  try {
    const current = await core.readNamespacedConfigMap({ name: 'express-cache', namespace }).catch(() => undefined);
    if (current?.data?.['readyVersion'] === version) return;
    if (current)
      await core.replaceNamespacedConfigMap({
        name: 'express-cache',
        namespace,
        body: { ...current, data: body.data },
      });
    else await core.createNamespacedConfigMap({ namespace, body });
    log(`${cluster}: cache ready for ${version} (Job ${job.metadata?.name})`);
  } catch (err) {
    log(`${cluster}: could not mark the cache: ${String(err)}`);
  }
}

// Clusters are added while the lab comes up: pick them up from the lab's state as they appear. kwokctl
// rewrites the shared kubeconfig while it creates the next cluster, so a cluster whose context cannot be
// loaded yet is tried again on the next tick rather than ending the agent (and the chart repository with it).
setInterval(() => {
  let state: ReturnType<typeof readState>;
  try {
    state = readState(dir);
  } catch (err) {
    log(`lab state not readable yet: ${String(err)}`);
    return;
  }
  for (const c of state?.clusters ?? []) {
    if (watched.has(c) || !state) continue;
    try {
      watchCluster(c, state.kubeconfig);
      watched.add(c);
    } catch (err) {
      log(`${c}: cannot watch yet (${String(err)}); trying again`);
    }
  }
}, 500);

// Each cluster's error rate, as the product's own metrics would report it: low, unless the lab's
// bad-metrics fault is on for the cluster. Written every 2 s to the lab's metrics server.
setInterval(() => {
  let state: ReturnType<typeof readState>;
  try {
    state = readState(dir);
  } catch {
    return;
  }
  if (!state?.metrics) return;
  const lines = state.clusters.map(
    (c) => `lab_error_rate{cluster="${c}"} ${existsSync(badMetricsFile(dir, c)) ? 0.5 : 0.01}`,
  );
  const url = state.metrics.url;
  void fetch(`${url}/api/v1/import/prometheus`, { method: 'POST', body: `${lines.join('\n')}\n` })
    .then(() => fetch(`${url}/internal/force_flush`))
    .catch((err: unknown) => log(`metrics: ${String(err)}`));
}, 2_000);

// The chart repository must outlive any one cluster's trouble: log what escaped, keep serving.
process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? String(err)}`));
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${String(err)}`));
process.on('SIGTERM', () => process.exit(0));

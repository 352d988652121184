/**
 * What the benchmarks orchestrate against when they measure the engine alone: activities that answer at
 * once, as an idempotent fleet that is always healthy would, and a plan of N named clusters in phases.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Activities } from '../src/activities/contracts.js';
import { createRegistryActivities } from '../src/client/registries.js';
import { fleetVerdict } from '../src/domain/fleet.js';
import type { RolloutInput } from '../src/domain/types.js';
import { RolloutPlan } from '../src/plan/schema.js';

const valuesDigest = (cluster: string, release: string) =>
  `sha256:${createHash('sha256').update(`${cluster}/${release}`).digest('hex')}`;

/** Answers at once for the clusters; the locks are the product's, taken from the lock registry on `client`'s server. */
export function instantActivities(client: Client): Activities {
  const release = (version: string) => ({ revision: 1, chartVersion: version, valuesDigest: 'sha256:bench' });
  return {
    preflight: () => Promise.resolve({ checked: [], warnings: [] }),
    snapshotCluster: () =>
      Promise.resolve({
        releases: { operator: release('1.0.0'), chart: release('2.0.0') },
        takenAt: new Date().toISOString(),
      }),
    upgradeRelease: ({ version }) => Promise.resolve({ changed: true, ...release(version), revision: 2 }),
    runSynchronizerJob: () => Promise.resolve({ jobName: 'synchronizer', namespace: 'app', changed: true }),
    waitForCacheReady: ({ version }) => Promise.resolve({ observed: `cache ready for ${version}` }),
    cleanupSynchronizerJob: () => Promise.resolve(),
    verifyWorkloads: () => Promise.resolve({ checked: [] }),
    rollbackRelease: ({ to }) => Promise.resolve({ changed: true, revision: to?.revision ?? null }),
    ...createRegistryActivities(client),
    registryState: () => Promise.resolve({ freezes: [], denied: [] }),
    // Two groups, as a fleet with two kinds of overlay has; the digests are as long as real ones.
    diffClusters: ({ clusters }) =>
      Promise.resolve({
        digest: `sha256:${'d'.repeat(64)}`,
        groups: [0, 1].map((g) => ({
          digest: `sha256:${String(g).repeat(64)}`,
          clusters: clusters.filter((_, i) => i % 2 === g).map((c) => c.cluster),
          summary: emptyDiff(),
        })),
      }),
    diffText: () => Promise.resolve([]),
    // Rows as long as real ones: every cluster runs what is wanted but every 50th, an older chart. Each
    // values digest is the cluster's own, as overlays make them, so rows compress as real ones do.
    readFleet: ({ clusters, versions }) =>
      Promise.resolve(
        clusters.map(({ cluster }, i) => {
          const old = Number(/\d+$/.exec(cluster)?.[0] ?? i) % 50 === 0;
          const releases = Object.fromEntries(
            Object.entries(versions).map(([name, want]) => [
              name,
              {
                desiredVersion: want,
                desiredValues: valuesDigest(cluster, name),
                version: old && name === 'chart' ? '1.9.0' : want,
                revision: 3,
                status: 'deployed',
                valuesDigest: valuesDigest(cluster, name),
                changedBy: 'bench-previous',
              },
            ]),
          );
          return { cluster, releases, ...fleetVerdict({ cluster, releases }) };
        }),
      ),
    resolveSource: () => Promise.reject(new Error('the benchmark fleet has no config repository')),
    deliverNotification: () => Promise.resolve({ status: 204 }),
    measureAnalysis: () => Promise.resolve({ at: new Date().toISOString(), phase: 'successful', value: 0 }),
    verifyApproval: () => Promise.resolve({ valid: false, detail: 'the benchmark fleet verifies no signature' }),
  };
}

const emptyDiff = () => ({ added: {}, changed: { Deployment: 1 }, removed: {} });

/** A rollout of the given phases (cluster names, maxParallel, approval: auto unless said), every step enabled. */
export function benchInput(
  phases: { name: string; clusters: string[]; maxParallel?: number; approval?: 'auto' | 'required' }[],
): RolloutInput {
  const plan = RolloutPlan.parse({
    apiVersion: 'phased-rollout.dev/v1alpha1',
    kind: 'RolloutPlan',
    metadata: { name: 'bench' },
    spec: {
      release: {
        operator: { chart: './op', version: '1.5.0', releaseName: 'op', namespace: 'op-system' },
        chart: { chart: './app', version: '3.0.0', releaseName: 'app', namespace: 'app' },
      },
      synchronizer: { template: { inline: { kind: 'Job' } }, namespace: 'app' },
      cache: {
        check: {
          type: 'object-field',
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'cache',
          field: 'data.v',
          equals: '{{version}}',
        },
      },
      clusters: phases.flatMap((p) => p.clusters.map((name) => ({ name, context: `ctx-${name}` }))),
      phases: phases.map((p) => ({ ...p, approval: p.approval ?? 'auto' })),
    },
  });
  return {
    plan,
    source: { kind: 'git', url: 'https://git.example/config.git', ref: 'main', commit: 'b'.repeat(40), path: '.' },
    versions: { operator: '1.5.0', chart: '3.0.0' },
    startedBy: 'bench',
  };
}

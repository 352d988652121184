import { mkdtemp, rm } from 'node:fs/promises';
import { appliesTo, primaryVersionOf, versionOf } from '../plan/components.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { renderTemplate } from '../plan/template.js';
import type { PreflightInput, PreflightResult } from './contracts.js';
import { mergeValues, valuesDigest } from '../adapters/helm.js';
import { capabilitiesKey, capabilitiesOf } from '../adapters/capabilities.js';
import type { ClusterCapabilities, KubeFactory } from '../adapters/kube.js';
import { mapLimited } from '../common/limited.js';
import { readValues } from '../drivers/values.js';
import { driverFor, type Drivers, type Renderer } from '../drivers/driver.js';
import { renderJob } from './synchronizer.js';
import type { SourceFiles } from '../adapters/source.js';
import type { PinnedSource } from '../domain/types.js';
import type { Credentials } from '../adapters/credentials.js';
import { createSinkUrls } from '../adapters/webhooks.js';
import { crdRefusals, liveCrd } from '../adapters/crds.js';
import { crdDiffers, type Crd } from '../domain/crds.js';

/** Renders at most this many clusters' values at once: helm template is CPU-bound. */
const renderParallelism = 4;

/** At most this many clusters are asked for their version and APIs at once. */
const askParallelism = 8;

/** Each cluster's capabilities (undefined: it did not answer, rendered as Helm's defaults), and what went wrong. */
interface Capabilities {
  of: Map<string, ClusterCapabilities | undefined>;
  problems: string[];
  warnings: string[];
}

/**
 * The checks a rollout makes once, on the worker, before it takes a lock or changes a cluster: what can
 * be known to fail is refused before the canary's operator is upgraded. Reads each cluster's version and
 * APIs (a context the worker lacks is refused here), changes none.
 */
export function createPreflightActivities(deps: {
  drivers: Drivers;
  files: SourceFiles;
  kube: KubeFactory;
  credentials?: Credentials;
}) {
  const { files: source } = deps;
  const sinkUrl = createSinkUrls({ credentials: deps.credentials });

  /** The sinks that find no URL on the worker: nobody would hear of the rollout through them. */
  async function sinkProblems(input: PreflightInput): Promise<string[]> {
    const problems: string[] = [];
    for (const sink of input.sinks) {
      try {
        await sinkUrl(sink);
      } catch (err) {
        problems.push(`spec.notifications: ${(err as Error).message}`);
      }
    }
    return problems;
  }

  /** Every cluster's version and APIs; a cluster that does not answer is a warning, never a refusal. */
  async function askClusters(clusters: PreflightInput['clusters']): Promise<Capabilities> {
    const caps: Capabilities = { of: new Map(), problems: [], warnings: [] };
    await mapLimited(clusters, askParallelism, async (c) => {
      try {
        caps.of.set(c.cluster, await capabilitiesOf(deps.kube, c.context));
      } catch (err) {
        const text = (err as Error).message;
        if (err instanceof ApplicationFailure) caps.problems.push(`cluster ${c.cluster}: ${text}`);
        else {
          caps.of.set(c.cluster, undefined);
          caps.warnings.push(
            `cluster ${c.cluster} did not say its version and APIs (${text}): rendered as Helm's built-in defaults ` +
              `see it, so its kubeVersion and .Capabilities checks were not verified here`,
          );
        }
      }
    });
    return caps;
  }

  /**
   * Renders the chart once per distinct set of values and cluster capabilities; returns a problem per
   * group of clusters that fails. Each file is read once, however many clusters share it (the base
   * values: all of them).
   */
  async function renderForClusters(
    release: ReleaseSpec,
    render: Renderer,
    from: PinnedSource,
    clusters: { cluster: string; overlay?: string }[],
    caps: Capabilities['of'],
  ): Promise<string[]> {
    const groups = new Map<string, { files: string[]; capabilities?: ClusterCapabilities; clusters: string[] }>();
    const problems: string[] = [];
    const paths = new Map<string, Promise<string>>();
    const parsed = new Map<string, Promise<unknown>>();
    const pathOf = (file: string) => {
      if (!paths.has(file)) paths.set(file, source.path(from, file));
      return paths.get(file) as Promise<string>;
    };
    const read = (file: string) => {
      if (!parsed.has(file)) parsed.set(file, pathOf(file).then(readValues));
      return parsed.get(file) as Promise<unknown>;
    };
    for (const c of clusters) {
      const files = [...release.values, ...(c.overlay ? [c.overlay] : [])];
      try {
        const capabilities = caps.get(c.cluster);
        const key = `${valuesDigest(mergeValues(await Promise.all(files.map(read))))}|${capabilitiesKey(capabilities)}`;
        const group = groups.get(key) ?? { files, capabilities, clusters: [] };
        group.clusters.push(c.cluster);
        groups.set(key, group);
      } catch (err) {
        problems.push(`cluster ${c.cluster}: ${(err as Error).message}`);
      }
    }
    await mapLimited([...groups.values()], renderParallelism, async (g) => {
      try {
        const files = await Promise.all(g.files.map(pathOf));
        await render(files, g.capabilities, { hooks: true });
      } catch (err) {
        const text = (err as Error).message;
        problems.push(`chart ${release.chart} does not render with the values of ${g.clusters.join(', ')}: ${text}`);
      }
    });
    return problems;
  }

  /**
   * Runs `check` on every cluster that said its version and APIs (one that did not was already a
   * warning; it is checked again before its own operator step), a few at once; none when there are no CRDs.
   */
  async function onAnswering(
    crds: Crd[],
    clusters: PreflightInput['clusters'],
    caps: Capabilities['of'],
    check: (c: PreflightInput['clusters'][number]) => Promise<void>,
  ): Promise<void> {
    if (crds.length === 0) return;
    await mapLimited(
      clusters.filter((c) => caps.get(c.cluster) !== undefined),
      askParallelism,
      check,
    );
  }

  /**
   * The chart's CRDs against each cluster's (stored versions, served versions, existing objects, the API
   * server's dry-run): every cluster, before any changes, so an unsafe CRD stops the rollout before the
   * canary's operator is touched.
   */
  async function crdProblemsOn(crds: Crd[], clusters: PreflightInput['clusters'], caps: Capabilities['of']) {
    const problems: string[] = [];
    await onAnswering(crds, clusters, caps, async (c) => {
      try {
        problems.push(...(await crdRefusals(deps.kube(c.context), crds)).map((p) => `cluster ${c.cluster}: ${p}`));
      } catch (err) {
        if (err instanceof ApplicationFailure) problems.push(`cluster ${c.cluster}: ${err.message}`);
      }
    });
    return problems;
  }

  /** The clusters (of those answering) whose CRDs differ from the chart's, or that lack one. */
  async function crdsDifferOn(crds: Crd[], clusters: PreflightInput['clusters'], caps: Capabilities['of']) {
    const differ: string[] = [];
    await onAnswering(crds, clusters, caps, async (c) => {
      const live = await Promise.all(crds.map((crd) => liveCrd(deps.kube(c.context), crd))).catch(() => undefined);
      if (live && crds.some((crd, i) => crdDiffers(live[i], crd))) differ.push(c.cluster);
    });
    return differ.sort();
  }

  return {
    async preflight(input: PreflightInput): Promise<PreflightResult> {
      const refused = input.source.kind === 'git' ? source.credentialRefusal(input.source) : undefined;
      const credential = refused ? [`spec.source.git.credential: ${refused}`] : [];
      const dir = await mkdtemp(join(tmpdir(), 'rollout-preflight-'));
      const caps = await askClusters(input.clusters);
      const problems: string[] = [...credential, ...(await sinkProblems(input)), ...caps.problems];
      const checked: string[] = [];
      const warnings = [...caps.warnings];
      try {
        // Without the repository's credential nothing below can read a file: say it once, not per cluster.
        if (refused) return refuse(problems);
        // Each component, rendered for the clusters that get it (a label-limited one only where it goes).
        const releases = input.components.map((c) => {
          const gets = input.clusters.filter((cl) => appliesTo(c, cl.labels));
          return {
            what: c.name,
            release: c.release,
            version: versionOf(input.versions, c),
            gets,
            clusters: gets.map((cl) => ({ cluster: cl.cluster, overlay: cl.overlays[c.name] })),
          };
        });
        for (const { what, release, version, gets, clusters } of releases) {
          let render: Renderer;
          try {
            const at = join(dir, what);
            render = await driverFor(deps.drivers, release).renderer(release, version, input.source, at);
          } catch (err) {
            if (!(err instanceof ApplicationFailure)) throw err;
            problems.push(`${what} ${release.chart} ${version}: ${err.message}`);
            continue;
          }
          const failed = await renderForClusters(release, render, input.source, clusters, caps.of);
          problems.push(...failed);
          const at = join(dir, what);
          const crds = await driverFor(deps.drivers, release).crds(release, version, input.source, at);
          if (release.crds === 'skip') {
            const differ = await crdsDifferOn(crds, gets, caps.of);
            if (differ.length > 0) {
              const names = crds.map((c) => c.metadata?.name).join(', ');
              warnings.push(
                `${what} ${release.chart} ${version}: crds: skip: its CRDs in crds/ (${names}) differ from those of ${listed(differ)} and are left as they are`,
              );
            }
          } else {
            const unsafe = await crdProblemsOn(crds, gets, caps.of);
            problems.push(...unsafe);
            if (crds.length > 0 && unsafe.length === 0) {
              checked.push(
                `${what} ${release.chart} ${version}: its ${crds.length} CRD(s) in crds/ keep every stored version and every existing object valid on each cluster`,
              );
            }
          }
          const perCluster = clusters.some((c) => c.overlay);
          const values = perCluster ? `the values of each of ${clusters.length} clusters` : 'its values';
          if (failed.length === 0)
            checked.push(
              `${what} ${release.chart} ${version} renders with ${values}, as each cluster's version and APIs see it`,
            );
        }
        if (input.synchronizer) {
          const first = input.clusters[0]?.cluster ?? 'cluster';
          const vars = { cluster: first, version: primaryVersionOf(input.components, input.versions) };
          try {
            const cacheKey = renderTemplate(input.synchronizer.cacheKey, vars);
            const file = input.synchronizer.template.file;
            await renderJob(
              { ...vars, cacheKey, synchronizer: input.synchronizer, rolloutId: '' },
              file ? await source.path(input.source, file) : undefined,
            );
            checked.push('synchronizer template renders to a batch/v1 Job');
          } catch (err) {
            problems.push((err as Error).message);
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      if (problems.length > 0) return refuse(problems);
      if (input.sinks.length > 0) checked.push(`every notification sink finds its URL on the worker`);
      for (const w of warnings) Context.current().log.warn(w);
      return { checked, warnings };
    },
  };
}

function refuse(problems: string[]): never {
  const shown = problems.slice(0, 20).map((p) => `- ${p}`);
  if (problems.length > 20) shown.push(`- ...and ${problems.length - 20} more`);
  throw ApplicationFailure.nonRetryable(
    `preflight found ${problems.length} problem(s); no cluster was touched:\n${shown.join('\n')}`,
    FailureType.PreflightFailed,
  );
}

/** "lab-1, lab-2" or "lab-1, lab-2, lab-3 and 7 more clusters". */
function listed(clusters: string[]): string {
  return clusters.length <= 3
    ? clusters.join(', ')
    : `${clusters.slice(0, 3).join(', ')} and ${clusters.length - 3} more clusters`;
}

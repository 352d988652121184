import { createHash } from 'node:crypto';
import { appliesTo, versionOf } from '../plan/components.js';
import { ApplicationFailure } from '@temporalio/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiffGroup, DiffSummary, ReleaseDiff } from '../domain/types.js';
import { beat, clusterStep, stepDeadline } from './context.js';
import type { ClusterDiffText, DiffInput } from './contracts.js';
import { capabilitiesKey, capabilitiesOf } from '../adapters/capabilities.js';
import type { ClusterCapabilities, KubeFactory } from '../adapters/kube.js';
import { bounded, diffManifests } from './manifest-diff.js';
import { mapLimited } from '../common/limited.js';
import { pinnedValues } from '../drivers/values.js';
import { driverFor, type Drivers, type Renderer } from '../drivers/driver.js';
import type { SourceFiles } from '../adapters/source.js';
import { liveCrd } from '../adapters/crds.js';
import { crdDiffers, liveForDiff, type Crd } from '../domain/crds.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { stringify } from 'yaml';

/** At most this many clusters are read and rendered at once. */
const parallelism = 4;

/** What one release's diff on one cluster is (or why the cluster's could not be had), before grouping. */
interface OneDiff {
  cluster: string;
  release?: string;
  digest: string;
  summary: DiffSummary;
  text: string;
  error?: string;
  errorType?: string;
}

/**
 * Diffs of what a rollout would apply: for each cluster, both releases rendered by their deploy mechanism at
 * their target versions with the cluster's pinned values, as that cluster's version and APIs see them
 * (for Helm: `helm template --no-hooks --kube-version --api-versions`), against what each release declares
 * now (for Helm: `helm get manifest`). Reads clusters, changes nothing. What Helm's diff does not see:
 * objects edited in the cluster outside Helm (the stored manifest is Helm's record, not the live object),
 * hooks, and templates that read objects from the cluster (`lookup`), which render without a cluster.
 */
export function createDiffActivities(deps: { drivers: Drivers; files: SourceFiles; kube: KubeFactory }) {
  const { files } = deps;

  async function diffAll(input: DiffInput): Promise<OneDiff[]> {
    const dir = await mkdtemp(join(tmpdir(), 'rollout-diff-'));
    try {
      const releases = input.components.map((c) => ({
        role: c.name,
        component: c,
        release: c.release,
        version: versionOf(input.versions, c),
      }));
      const renderers = await Promise.all(
        releases.map((r) =>
          driverFor(deps.drivers, r.release).renderer(r.release, r.version, input.source, join(dir, r.role)),
        ),
      );
      // The CRDs each chart keeps in crds/ (fetched after the renderers, from the archives they fetched).
      const crds = await Promise.all(
        releases.map((r) =>
          driverFor(deps.drivers, r.release).crds(r.release, r.version, input.source, join(dir, r.role)),
        ),
      );
      // One render per release, distinct set of values and distinct cluster capabilities, however many
      // clusters share them.
      const renders = new Map<string, Promise<string>>();
      const desired = async (i: number, overlay: string | undefined, capabilities: ClusterCapabilities) => {
        const { paths, digest } = await pinnedValues(
          files,
          input.source,
          (releases[i] as (typeof releases)[number]).release,
          overlay,
        );
        const key = `${i}|${digest}|${capabilitiesKey(capabilities)}`;
        if (!renders.has(key)) renders.set(key, (renderers[i] as Renderer)(paths, capabilities));
        return renders.get(key) as Promise<string>;
      };
      const one = async (c: DiffInput['clusters'][number]): Promise<OneDiff[]> => {
        const parts = await clusterStep(c, stepDeadline(input.timeout), async () => {
          const capabilities = await capabilitiesOf(deps.kube, c.context);
          return Promise.all(
            releases.map(async ({ role, release, component }, i) => {
              // A component the cluster does not get (its selector) has no diff there.
              if (!appliesTo(component, c.labels)) return undefined;
              const [now, next, liveCrds] = await Promise.all([
                driverFor(deps.drivers, release).declared({
                  cluster: c.cluster,
                  context: c.context,
                  release,
                  source: input.source,
                }),
                desired(i, c.overlays[role], capabilities),
                Promise.all((crds[i] ?? []).map((crd) => liveCrd(deps.kube(c.context), crd))),
              ]);
              const withCrds = crdDocuments(release, crds[i] ?? [], liveCrds);
              const diff = diffManifests(
                `${now ?? ''}${withCrds.now}`,
                `${next}${withCrds.next}`,
                release.namespace,
                new Set(capabilities.clusterScoped),
              );
              return withCrds.note ? { ...diff, text: `${withCrds.note}${diff.text}` } : diff;
            }),
          );
        });
        // Per release: an operator diff that is the same everywhere is one group, however the chart's differ.
        return parts.flatMap((p, i) => {
          if (!p) return [];
          const { role, release } = releases[i] as (typeof releases)[number];
          const text = p.text ? `# ${role} ${release.releaseName}\n${p.text}` : '';
          return { cluster: c.cluster, release: role, digest: digestOf(`${role}\n${text}`), summary: p.summary, text };
        });
      };
      const all = await mapLimited(input.clusters, parallelism, async (c): Promise<OneDiff[]> => {
        try {
          return await one(c);
        } catch (err) {
          // A cluster whose diff cannot be had says so in its own group; it is not a verdict on the phase.
          const error = (err as Error).message;
          const errorType = err instanceof ApplicationFailure ? err.type : undefined;
          return [
            {
              cluster: c.cluster,
              digest: digestOf(`error: ${error}`),
              summary: emptySummary(),
              text: '',
              error,
              ...(errorType ? { errorType } : {}),
            },
          ];
        } finally {
          beat();
        }
      });
      return all.flat();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    /**
     * The clusters' diffs grouped by content: a digest and a summary per group, never the text, so a
     * gate's record stays small whatever the diffs' size.
     */
    async diffClusters(input: DiffInput): Promise<ReleaseDiff> {
      const diffs = await diffAll(input);
      return { digest: phaseDigest(diffs), groups: group(diffs, input.components) };
    },

    /** The full diff text, once per group of clusters with the same diff, bounded (`maxBytes` in all). */
    async diffText(input: DiffInput & { maxBytes: number }): Promise<ClusterDiffText[]> {
      const diffs = await diffAll(input);
      let left = input.maxBytes;
      return group(diffs, input.components).map((g) => {
        const first = diffs.find((d) => d.digest === g.digest);
        const { text, truncated } = bounded(first?.text ?? '', Math.max(0, left));
        left -= Buffer.byteLength(text);
        return { ...g, text, truncated };
      });
    },
  };
}

/**
 * The chart's CRDs as the diff compares them: with `crds: apply`, each against the cluster's definition as
 * a person wrote it (what the API server defaults left out), so a changed schema or version shows; with
 * `skip`, nothing is compared (nothing will change) but a note names the CRDs that differ and stay as they are.
 */
function crdDocuments(release: ReleaseSpec, crds: Crd[], live: (Crd | undefined)[]) {
  const doc = (o: unknown) => `\n---\n${stringify(o)}`;
  if (release.crds !== 'skip') {
    return {
      now: crds.map((c, i) => (live[i] ? doc(liveForDiff(live[i], c)) : '')).join(''),
      next: crds.map((c) => doc(c)).join(''),
    };
  }
  const differ = crds.filter((c, i) => crdDiffers(live[i], c));
  const names = differ.map((c) => c.metadata?.name).join(', ');
  return {
    now: '',
    next: '',
    note:
      differ.length > 0
        ? `# crds: skip: ${names} in the chart's crds/ differ from the cluster's and are left as they are\n`
        : undefined,
  };
}

function emptySummary(): DiffSummary {
  return { added: {}, changed: {}, removed: {} };
}

function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** One digest over every cluster's and release's: what an approval binds to. */
function phaseDigest(diffs: OneDiff[]): string {
  return digestOf(diffs.map((d) => `${d.cluster} ${d.release ?? '-'} ${d.digest}\n`).join(''));
}

/**
 * Clusters with the same diff of the same component together, in the components' order (a cluster whose
 * diff could not be had first of all), each component's largest first.
 */
function group(diffs: OneDiff[], components: readonly { name: string }[]): DiffGroup[] {
  const groups = new Map<string, DiffGroup>();
  for (const d of diffs) {
    const g = groups.get(d.digest) ?? {
      digest: d.digest,
      ...(d.release ? { release: d.release } : {}),
      clusters: [],
      summary: d.summary,
      ...(d.error ? { error: d.error } : {}),
      ...(d.errorType ? { errorType: d.errorType } : {}),
    };
    g.clusters.push(d.cluster);
    groups.set(d.digest, g);
  }
  const order = (g: DiffGroup) => (g.release === undefined ? 0 : 1 + components.findIndex((c) => c.name === g.release));
  return [...groups.values()].sort((a, b) => order(a) - order(b) || b.clusters.length - a.clusters.length);
}

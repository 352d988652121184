import { fleetVerdict } from '../domain/fleet.js';
import type { FleetRelease, FleetRow } from '../domain/types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { fieldAt } from './checks.js';
import { beat } from './context.js';
import type { FleetReadInput } from './contracts.js';
import { isNetworkError, Unreachable } from './errors.js';
import { helmReleaseSecret, rolledBackByAnnotation, type HelmClient, type HelmRelease } from './helm.js';
import { classify, isNotFound } from './kube-errors.js';
import type { KubeFactory } from './kube.js';
import { mapLimited } from './limited.js';
import { pinnedValues } from './releases.js';
import type { SourceFiles } from './source.js';

/** Clusters read at once within one batch; the workflow runs a few batches side by side. */
const parallelism = 2;

/** The rollout that made a Helm revision, from the description this tool gives its revisions. */
function madeBy(description: string | undefined): string | undefined {
  return /^phased-rollout: (.+)$/.exec(description ?? '')?.[1];
}

/**
 * Reads what runs on clusters against what the config source wants: each release's chart version,
 * revision, status and values digest as Helm reports them, and the cache's readiness. One attempt per
 * cluster: a cluster that does not answer is reported unreachable, not waited for. Changes nothing.
 */
export function createFleetActivities(deps: { helm: HelmClient; kube: KubeFactory; files: SourceFiles }) {
  const { helm, files } = deps;

  const desiredValues = async (input: FleetReadInput, release: ReleaseSpec, overlay?: string) =>
    (await pinnedValues(files, input.source, release, overlay)).digest;

  /** Which rollout made a revision: its description, or for a rollback the annotation the rollout left. */
  async function changedBy(context: string, spec: ReleaseSpec, now: HelmRelease): Promise<string | undefined> {
    if (!/^Rollback to \d+$/.test(now.description ?? '')) return madeBy(now.description);
    const secret = await deps
      .kube(context)
      .core.readNamespacedSecret({ name: helmReleaseSecret(spec.releaseName, now.revision), namespace: spec.namespace })
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined; // another storage driver than Secrets: no record to read
        throw classify(err, `read the release Secret of ${spec.namespace}/${spec.releaseName} in ${context}`);
      });
    const by = secret?.metadata?.annotations?.[rolledBackByAnnotation];
    return by ? `${by} (rollback)` : undefined;
  }

  async function release(context: string, spec: ReleaseSpec, version: string, desired: string): Promise<FleetRelease> {
    const now = await helm.latest(context, spec.releaseName, spec.namespace);
    const out: FleetRelease = { desiredVersion: version, desiredValues: desired };
    if (!now) return out;
    return {
      ...out,
      version: now.chartVersion,
      revision: now.revision,
      status: now.status,
      valuesDigest: await helm.valuesDigest(context, spec.releaseName, spec.namespace),
      changedBy: await changedBy(context, spec, now),
    };
  }

  async function cache(input: FleetReadInput, c: FleetReadInput['clusters'][number]) {
    const check = c.cacheCheck;
    if (!check) return undefined;
    if (check.type === 'http') {
      const res = await fetch(check.url, { signal: AbortSignal.timeout(5_000) });
      return { ready: res.status === check.expectStatus, observed: `${check.url}: HTTP ${res.status}` };
    }
    const where = `${check.kind} ${check.namespace ? `${check.namespace}/` : ''}${check.name} ${check.field}`;
    const obj = await deps
      .kube(c.context)
      .objects.read({
        apiVersion: check.apiVersion,
        kind: check.kind,
        metadata: { name: check.name, namespace: check.namespace },
      })
      .catch((err: unknown) => {
        const e = classify(err, `read ${where} on ${c.cluster}`);
        if (e instanceof Unreachable) throw e;
        return undefined; // not there (yet): the cache is not ready
      });
    const seen = obj ? fieldAt(obj, check.field) : undefined;
    const ready = String(seen) === check.equals;
    return {
      ready,
      observed: `${where} is ${seen === undefined ? 'missing' : JSON.stringify(seen)}${ready ? '' : `, wanted "${check.equals}"`}`,
    };
  }

  async function one(input: FleetReadInput, c: FleetReadInput['clusters'][number]): Promise<FleetRow> {
    try {
      const [opValues, chartValues] = await Promise.all([
        desiredValues(input, input.operator),
        desiredValues(input, input.chart, c.overlay),
      ]);
      const operator = await release(c.context, input.operator, input.operatorVersion, opValues);
      const chart = await release(c.context, input.chart, input.chartVersion, chartValues);
      const row = { cluster: c.cluster, operator, chart, cache: await cache(input, c) };
      return { ...row, ...fleetVerdict(row) };
    } catch (err) {
      if (err instanceof Unreachable || isNetworkError(err)) {
        const row = { cluster: c.cluster };
        return { ...row, ...fleetVerdict(row, `does not answer: ${(err as Error).message}`) };
      }
      throw err;
    }
  }

  return {
    readFleet: (input: FleetReadInput): Promise<FleetRow[]> =>
      mapLimited(input.clusters, parallelism, async (c) => {
        const row = await one(input, c);
        beat();
        return row;
      }),

    /** The commit a git source's ref names now, for a scheduled drift check that follows the ref. */
    async resolveSource(input: { url: string; ref: string; path: string; tokenEnv?: string }) {
      const commit = await files.resolveRef(input.url, input.ref, input.tokenEnv);
      return { kind: 'git' as const, ...input, commit };
    },
  };
}

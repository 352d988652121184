import { fleetVerdict } from '../domain/fleet.js';
import { appliesTo, versionOf } from '../plan/components.js';
import type { FleetRelease, FleetRow } from '../domain/types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { cacheCheckFor } from '../cache-checks/index.js';
import { beat } from './context.js';
import type { FleetReadInput } from './contracts.js';
import { isNetworkError, Unreachable } from '../adapters/errors.js';
import type { KubeFactory } from '../adapters/kube.js';
import type { SourceFiles } from '../adapters/source.js';
import { mapLimited } from '../common/limited.js';
import { driverFor, type Drivers } from '../drivers/driver.js';
import { pinnedValues } from '../drivers/values.js';

/** Clusters read at once within one batch; the workflow runs two batches side by side (workflows/fleet-status.ts). */
const parallelism = 4;

/**
 * Reads what runs on clusters against what the config source wants: each release's chart version,
 * revision, status and values digest as its deploy mechanism reports them, and the cache's readiness. One attempt per
 * cluster: a cluster that does not answer is reported unreachable, not waited for. Changes nothing.
 */
export function createFleetActivities(deps: { drivers: Drivers; kube: KubeFactory; files: SourceFiles }) {
  const { files } = deps;

  const desiredValues = async (input: FleetReadInput, release: ReleaseSpec, overlay?: string) =>
    (await pinnedValues(files, input.source, release, overlay)).digest;

  async function release(
    on: { cluster: string; context: string; source: FleetReadInput['source'] },
    spec: ReleaseSpec,
    version: string,
    desired: string,
  ): Promise<FleetRelease> {
    const now = await driverFor(deps.drivers, spec).running({ ...on, release: spec });
    return { desiredVersion: version, desiredValues: desired, ...now };
  }

  /** The cache's readiness for the wanted version, by the plan's check, as the rollout's wait judges it. */
  async function cache(c: FleetReadInput['clusters'][number]) {
    const check = c.cacheCheck;
    if (!check) return undefined;
    return cacheCheckFor(check).observe(check, { kube: deps.kube(c.context), cluster: c.cluster });
  }

  async function one(input: FleetReadInput, c: FleetReadInput['clusters'][number]): Promise<FleetRow> {
    try {
      // Only the components the cluster gets: another's absence is no drift.
      const mine = input.components.filter((x) => appliesTo(x, c.labels));
      const values = await Promise.all(mine.map((x) => desiredValues(input, x.release, c.overlays[x.name])));
      const releases: FleetRow['releases'] = {};
      for (const [i, x] of mine.entries()) {
        releases[x.name] = await release(
          { cluster: c.cluster, context: c.context, source: input.source },
          x.release,
          versionOf(input.versions, x),
          values[i] ?? '',
        );
      }
      const row = { cluster: c.cluster, releases, cache: await cache(c) };
      return { ...row, ...fleetVerdict(row) };
    } catch (err) {
      if (err instanceof Unreachable || isNetworkError(err)) {
        const row = { cluster: c.cluster, releases: {} };
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
    async resolveSource(input: { url: string; ref: string; path: string; credential?: string }) {
      const commit = await files.resolveRef(input.url, input.ref, input.credential);
      return { kind: 'git' as const, ...input, commit };
    },
  };
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { renderTemplate } from '../plan/template.js';
import type { PreflightInput, PreflightResult } from './contracts.js';
import { mergeValues, valuesDigest, type HelmClient } from './helm.js';
import { mapLimited } from './limited.js';
import { readValues } from './releases.js';
import { chartAt } from './charts.js';
import { renderJob } from './synchronizer.js';
import type { SourceFiles } from './source.js';
import type { PinnedSource } from '../domain/types.js';

/** Renders at most this many clusters' values at once: helm template is CPU-bound. */
const renderParallelism = 4;

/**
 * The checks a rollout makes once, on the worker, before it takes a lock or touches a cluster: what can
 * be known to fail is refused before the canary's operator is upgraded. Touches no cluster.
 */
export function createPreflightActivities(deps: { helm: HelmClient; files: SourceFiles }) {
  const { helm, files: source } = deps;

  /**
   * Renders the chart once per distinct set of values; returns a problem per cluster whose values fail.
   * Each file is read once, however many clusters share it (the base values: all of them).
   */
  async function renderForClusters(
    release: ReleaseSpec,
    chartPath: string,
    from: PinnedSource,
    clusters: PreflightInput['clusters'],
  ): Promise<string[]> {
    const groups = new Map<string, { files: string[]; clusters: string[] }>();
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
        const digest = valuesDigest(mergeValues(await Promise.all(files.map(read))));
        const group = groups.get(digest) ?? { files, clusters: [] };
        group.clusters.push(c.cluster);
        groups.set(digest, group);
      } catch (err) {
        problems.push(`cluster ${c.cluster}: ${(err as Error).message}`);
      }
    }
    await mapLimited([...groups.values()], renderParallelism, async (g) => {
      try {
        const files = await Promise.all(g.files.map(pathOf));
        await helm.template(release.releaseName, chartPath, release.namespace, files);
      } catch (err) {
        const text = (err as Error).message;
        problems.push(`chart ${release.chart} does not render with the values of ${g.clusters.join(', ')}: ${text}`);
      }
    });
    return problems;
  }

  return {
    async preflight(input: PreflightInput): Promise<PreflightResult> {
      const dir = await mkdtemp(join(tmpdir(), 'rollout-preflight-'));
      const problems: string[] = [];
      const checked: string[] = [];
      try {
        const releases: {
          what: string;
          release: ReleaseSpec;
          version: string;
          clusters: PreflightInput['clusters'];
        }[] = [
          {
            what: 'operator chart',
            release: input.operator,
            version: input.operatorVersion,
            clusters: [{ cluster: 'every cluster' }],
          },
          { what: 'chart', release: input.chart, version: input.chartVersion, clusters: input.clusters },
        ];
        for (const { what, release, version, clusters } of releases) {
          let chartPath: string;
          try {
            chartPath = await chartAt(deps, release, version, input.source, join(dir, what.replace(' ', '-')));
          } catch (err) {
            if (!(err instanceof ApplicationFailure)) throw err;
            problems.push(`${what} ${release.chart} ${version}: ${err.message}`);
            continue;
          }
          const failed = await renderForClusters(release, chartPath, input.source, clusters);
          problems.push(...failed);
          const values = what === 'chart' ? `the values of each of ${clusters.length} clusters` : 'its values';
          if (failed.length === 0) checked.push(`${what} ${release.chart} ${version} renders with ${values}`);
        }
        if (input.synchronizer) {
          const first = input.clusters[0]?.cluster ?? 'cluster';
          const vars = { cluster: first, version: input.chartVersion };
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
      if (problems.length > 0) {
        const shown = problems.slice(0, 20).map((p) => `- ${p}`);
        if (problems.length > 20) shown.push(`- ...and ${problems.length - 20} more`);
        throw ApplicationFailure.nonRetryable(
          `preflight found ${problems.length} problem(s); no cluster was touched:\n${shown.join('\n')}`,
          FailureType.PreflightFailed,
        );
      }
      return { checked };
    },
  };
}

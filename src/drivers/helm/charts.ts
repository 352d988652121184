import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { FailureType } from '../../domain/failure-types.js';
import type { PinnedSource } from '../../domain/types.js';
import { isLocalChart } from '../../plan/resolve.js';
import type { ReleaseSpec } from '../../plan/schema.js';
import { stepDeadline, untilReachable } from '../../activities/context.js';
import type { HelmClient } from '../../adapters/helm.js';
import type { SourceFiles } from '../../adapters/source.js';

/**
 * The chart at its version as a local path helm can template: a local chart from the pinned source
 * (which must be that version), or the archive pulled from its repository into `dir`.
 */
export async function chartAt(
  deps: { helm: HelmClient; files: SourceFiles },
  release: ReleaseSpec,
  version: string,
  source: PinnedSource,
  dir: string,
): Promise<string> {
  if (isLocalChart(release.chart)) {
    const path = await deps.files.path(source, release.chart);
    await requireLocalVersion(path, version);
    return path;
  }
  await mkdir(dir, { recursive: true });
  // Pulled once per folder: the renderer, the CRDs and the upgrade read the same archive.
  const [pulled] = (await readdir(dir)).filter((f) => f.endsWith('.tgz'));
  if (pulled) return join(dir, pulled);
  const where = release.repository ? `${release.chart} in ${release.repository}` : release.chart;
  await untilReachable(`the chart repository of ${where}`, stepDeadline('5m'), () =>
    deps.helm.pull(release.chart, version, release.repository, dir),
  );
  const [tgz] = (await readdir(dir)).filter((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`helm pull of ${release.chart} ${version} left no chart archive`);
  return join(dir, tgz);
}

/** Helm ignores --version for a local chart, so the chart on disk must be the version asked for. */
export async function requireLocalVersion(chartDir: string, version: string): Promise<void> {
  let meta: { version?: string };
  try {
    meta = parseYaml(await readFile(resolve(chartDir, 'Chart.yaml'), 'utf8')) as { version?: string };
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `local chart ${chartDir} cannot be read: ${(err as Error).message}`,
      FailureType.LocalChart,
    );
  }
  if (!sameVersion(String(meta.version), version)) {
    throw ApplicationFailure.nonRetryable(
      `local chart ${chartDir} is version ${meta.version}, not ${version}; publish ${version} to a chart repository or point the plan at it`,
      FailureType.LocalChart,
    );
  }
}

/** Two chart versions are the same with or without a leading "v". */
export function sameVersion(a: string, b: string): boolean {
  return a.replace(/^v/, '') === b.replace(/^v/, '');
}

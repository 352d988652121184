import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PinnedSource } from '../domain/types.js';
import { isLocalChart } from '../plan/resolve.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { stepDeadline, untilReachable } from './context.js';
import type { HelmClient } from './helm.js';
import { requireLocalVersion } from './releases.js';
import type { SourceFiles } from './source.js';

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
  await untilReachable(`chart repository of ${release.chart}`, stepDeadline('5m'), () =>
    deps.helm.pull(release.chart, version, release.repository, dir),
  );
  const [tgz] = (await readdir(dir)).filter((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`helm pull of ${release.chart} ${version} left no chart archive`);
  return join(dir, tgz);
}

import type { Overlays, PinnedSource, ReleaseTarget, RolloutInput } from './types.js';
import type { ClusterSpec } from '../plan/schema.js';

/** A cluster's values overlays, by release, as its plan names them. */
export function overlaysOf(cluster: Pick<ClusterSpec, 'values' | 'operatorValues'> | undefined): Overlays {
  return {
    ...(cluster?.values ? { chart: cluster.values } : {}),
    ...(cluster?.operatorValues ? { operator: cluster.operatorValues } : {}),
  };
}

/** What a rollout rolls: its pinned source, the plan's two releases and the versions it was started with. */
export function releaseTarget(input: RolloutInput): ReleaseTarget {
  const { operator, chart } = input.plan.spec.release;
  return {
    source: input.source,
    operator,
    chart,
    operatorVersion: input.operatorVersion,
    chartVersion: input.chartVersion,
  };
}

/**
 * One line naming the source for people: the repository and commit (with the ref it was resolved
 * from), or the local folder and a digest over every file's digest.
 */
export function describeSource(source: PinnedSource): string {
  if (source.kind === 'git') {
    const path = source.path === '.' ? '' : ` (${source.path})`;
    return `${source.url}${path} at ${source.commit.slice(0, 12)} (${source.ref})`;
  }
  return `local ${source.baseDir}, ${Object.keys(source.digests).length} files pinned by digest`;
}

/** What the SourceCommit search attribute holds: the commit, or "local:" and the start of the files' digest. */
export function sourceRevision(source: PinnedSource): string {
  return source.kind === 'git' ? source.commit : `local:${source.digest.replace(/^sha256:/, '').slice(0, 16)}`;
}

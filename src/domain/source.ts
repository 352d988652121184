import type { PinnedSource, ReleaseTarget, RolloutInput } from './types.js';
import { componentsOf, primaryVersionOf } from '../plan/components.js';

/** What a rollout rolls: its pinned source, the plan's components and the versions it was started with. */
export function releaseTarget(input: Pick<RolloutInput, 'plan' | 'source' | 'versions'>): ReleaseTarget {
  return {
    planName: input.plan.metadata.name,
    source: input.source,
    components: componentsOf(input.plan),
    versions: input.versions,
  };
}

/** The version of a rollout's primary component (the product's chart): its ID, searches and deny marks. */
export function primaryVersion(input: Pick<RolloutInput, 'plan' | 'versions'>): string {
  return primaryVersionOf(componentsOf(input.plan), input.versions);
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

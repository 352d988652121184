import type { ClusterDiffText, DiffInput } from '../activities/contracts.js';
import { activitiesFor, diffDeadline } from './activity-options.js';

/** What `rollout diff` asks for: clusters to diff, and how much diff text to bring back at most. */
export type ReleaseDiffInput = DiffInput & { maxBytes: number };

/**
 * The full diff of what a rollout (or a plan, before any rollout) would change on some clusters, once
 * per group of clusters with the same diff. A workflow of its own, run on a worker that has the
 * clusters' credentials, so the CLI needs none; its history holds the bounded text, never the rollout's.
 */
export async function releaseDiff(input: ReleaseDiffInput): Promise<ClusterDiffText[]> {
  return activitiesFor(diffDeadline(input.clusters.length)).diffText(input);
}

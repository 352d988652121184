/**
 * A rollout's status in pages: the rollout answers `status` with its phases, decisions and counts, and at
 * most a page of its clusters, so that no answer grows with the fleet (Temporal caps a payload at 2 MB and
 * warns past 512 kB; a record per cluster of 10,000 is several MB). `rollout status` and `watch` ask for the
 * clusters they show; `-o json` pages through every one.
 */
import { needsEyes } from './display.js';
import type { ClusterState, RolloutStatus } from './types.js';

/** The most clusters one page holds: about 1 kB each at worst (with analyses), well inside a payload. */
export const maxPageSize = 500;

/** Which clusters to answer with: by name, one phase's, or those needing a person's eyes; then a page of them. */
export interface StatusPageRequest {
  clusters?: string[];
  phase?: string;
  /** Only clusters in flight, failed, or held by a window (`needsEyes`). */
  attention?: boolean;
  offset?: number;
  /** At most `maxPageSize`; that by default. */
  limit?: number;
}

/** The status with a page of the clusters the request selects, how many it selects, and every phase's counts. */
export interface StatusPage {
  /** The rollout's status; its `clusters` are the page only. */
  status: RolloutStatus;
  /** Clusters the request selects, before paging. */
  total: number;
  offset: number;
  /** Every phase's clusters counted by state, whatever the request. */
  counts: Record<string, Partial<Record<ClusterState, number>>>;
  /** Names the request gave that the rollout does not have (clusters, or the phase). */
  unknown?: { clusters?: string[]; phase?: string };
}

export function statusPage(status: RolloutStatus, req: StatusPageRequest = {}): StatusPage {
  const names = req.clusters && req.clusters.length > 0 ? new Set(req.clusters) : undefined;
  const counts: StatusPage['counts'] = Object.fromEntries(status.phases.map((p) => [p.name, {}]));
  const selected = [];
  for (const c of status.clusters) {
    const phase = (counts[c.phase] ??= {});
    phase[c.state] = (phase[c.state] ?? 0) + 1;
    if (names && !names.has(c.name)) continue;
    if (req.phase && c.phase !== req.phase) continue;
    if (req.attention && !needsEyes(c)) continue;
    selected.push(c);
  }
  const offset = Math.max(0, Math.floor(req.offset ?? 0));
  const limit = Math.min(maxPageSize, Math.max(1, Math.floor(req.limit ?? maxPageSize)));
  const known = names && new Set(status.clusters.map((c) => c.name));
  const unknownClusters = known ? [...(names ?? [])].filter((n) => !known.has(n)) : [];
  const unknownPhase = req.phase && !status.phases.some((p) => p.name === req.phase) ? req.phase : undefined;
  return {
    status: { ...status, clusters: selected.slice(offset, offset + limit) },
    total: selected.length,
    offset,
    counts,
    ...(unknownClusters.length > 0 || unknownPhase
      ? {
          unknown: {
            ...(unknownClusters.length > 0 ? { clusters: unknownClusters } : {}),
            ...(unknownPhase ? { phase: unknownPhase } : {}),
          },
        }
      : {}),
  };
}

import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { FleetReadInput } from '../activities/contracts.js';
import { fleetCounts, fleetMarkdown, fleetPage, rowsNeedingEyes } from '../domain/fleet.js';
import { fleetPageQuery } from './definitions.js';
import { describeSource } from '../domain/source.js';
import { primaryVersionOf } from '../plan/components.js';
import type { FleetReport, FleetRow, PinnedSource } from '../domain/types.js';
import type { CacheSpec, SourceSpec } from '../plan/schema.js';
import { renderCacheCheck, renderTemplate } from '../plan/template.js';
import { activitiesFor, quick } from './activity-options.js';
import { nowIso } from './clock.js';
import { FleetVerdictKey, RolloutPlanKey } from '../common/search-attributes.js';

/** What `rollout fleet` reads: a plan's clusters and releases, and where their desired state comes from. */
export interface FleetInput extends Omit<FleetReadInput, 'source' | 'clusters'> {
  plan: string;
  /** A pinned source (what `rollout fleet` resolved just now), or a git source to resolve on each run. */
  source: PinnedSource | { kind: 'git-ref'; git: SourceSpec['git'] };
  clusters: Omit<FleetReadInput['clusters'][number], 'cacheCheck'>[];
  cache?: CacheSpec;
  /** The synchronizer's cache key template, for cache checks that name {{cacheKey}}. */
  cacheKey?: string;
}

/**
 * Clusters per activity, and activities in flight at once: bounded, whatever the fleet's size. A batch is
 * large enough that its clusters and its rows travel over the codec's 64 kB and are stored compressed: the
 * check's history grows by 100 to 300 bytes a cluster by the server's count, where batches of 25 (each
 * payload just under the line, kept as JSON) grew it by 506 in the workflow test and 13 MB as JSON at
 * 10,000 clusters (docs/benchmarks.md). Each batch reads
 * 4 clusters at once (activities/fleet.ts), so the check reads 8 at a time, as it did with smaller batches.
 */
export const fleetBatchSize = 200;
const batchesAtOnce = 2;
/** How long a batch may take: 5 minutes, or 3 s a cluster (a cluster that does not answer takes its timeout). */
const batchDeadline = (clusters: number) => `${Math.max(300, clusters * 3)}s`;

/**
 * The fleet at a glance: every cluster's releases and cache against what the config source wants, read on
 * workers a batch at a time, with a verdict per cluster. Its outcome is in the Web UI without running a
 * command: current details (counts, clusters not in sync) and the FleetVerdict search attribute
 * ("in-sync" or "drift"), which is how a Temporal Schedule of it makes drift visible. Its result names the
 * clusters not in sync (at most `fleetRowsInResult`) and every row is read by the `fleet-page` query, so
 * no payload grows with the fleet: a check of 10,000 clusters returns what a person must look at.
 */
export async function fleetStatus(input: FleetInput): Promise<FleetReport> {
  // Rows by batch, filled as batches answer; a page reads those in, in the plan's order.
  const rows: FleetRow[][] = [];
  setHandler(fleetPageQuery, (req) => fleetPage(rows.flat(), req), {
    description: 'A page of the rows read so far, in the plan\'s order: {"offset": 0, "limit": 1000}.',
  });
  const source = input.source.kind === 'git-ref' ? await quick.resolveSource(input.source.git) : input.source;
  const clusters = input.clusters.map((c) => {
    const vars = { cluster: c.cluster, version: primaryVersionOf(input.components, input.versions) };
    const cacheKey = input.cacheKey ? renderTemplate(input.cacheKey, vars) : '';
    return { ...c, cacheCheck: input.cache ? renderCacheCheck(input.cache.check, { ...vars, cacheKey }) : undefined };
  });
  const batches: (typeof clusters)[] = [];
  for (let i = 0; i < clusters.length; i += fleetBatchSize) batches.push(clusters.slice(i, i + fleetBatchSize));
  let next = 0;
  const lane = async () => {
    for (let b = next++; b < batches.length; b = next++) {
      const batch = batches[b] ?? [];
      rows[b] = await activitiesFor(batchDeadline(batch.length)).readFleet({ ...input, source, clusters: batch });
    }
  };
  await Promise.all(Array.from({ length: batchesAtOnce }, lane));
  const all = rows.flat();
  const report: FleetReport = {
    plan: input.plan,
    source: describeSource(source),
    at: nowIso(),
    counts: fleetCounts(all),
    total: all.length,
    rows: rowsNeedingEyes(all),
  };
  setCurrentDetails(fleetMarkdown(report));
  upsertSearchAttributes([
    { key: RolloutPlanKey, value: input.plan },
    { key: FleetVerdictKey, value: all.every((r) => r.verdict === 'in-sync') ? 'in-sync' : 'drift' },
  ]);
  return report;
}

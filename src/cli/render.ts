import { table } from './table.js';
import type { ActivityHeartbeat } from '../activities/contracts.js';
import { diffLines } from '../domain/diff.js';
import { countsByState, needsEyes, type DisplayState } from '../domain/display.js';
import type { StatusPage } from '../domain/status-page.js';
import type { ClusterState, ClusterStatus, RolloutStatus } from '../domain/types.js';
import type { ClusterProgress } from '../workflows/api.js';

/** What a cluster's workflow is doing now, with what Temporal knows of its retrying activity. */
export interface LiveCluster extends Partial<Omit<ClusterProgress, 'step'>> {
  /** The step in progress: a cluster's forward step, or its rollback's (`rollback`, `verify-rollback`). */
  step?: ClusterProgress['step'] | 'rollback' | 'verify-rollback';
  /** The cluster does not answer; the step retries until its timeout. */
  unreachable?: ActivityHeartbeat['unreachable'];
  /** Temporal is retrying the step's activity (a worker died, a conflict...): its attempt and last failure. */
  retrying?: { attempt: number; error: string };
  /** The activity in progress, when the cluster's workflow did not say its step in time. */
  activity?: string;
}

export interface FetchedStatus {
  /** Its `clusters` are those fetched: every one the view selects, or (a large rollout) those needing eyes. */
  status: RolloutStatus;
  /** Every phase's clusters by state, as the rollout counted them. */
  counts: StatusPage['counts'];
  /** How many clusters the view selects (all of them without a filter). */
  selected: number;
  shown: DisplayState;
  live: Map<string, LiveCluster>;
  /** Clusters in flight whose live step was not read (past liveReadsMax, the longest in flight read first). */
  liveSkipped?: number;
  /** While the rollout starts: what its own work (the preflight) is doing, in words, when it is not plain running. */
  waiting?: string;
}

/** Which clusters `status` and `watch` show: some by name, one phase's, or all of them. */
export interface StatusView {
  cluster?: string[];
  phase?: string;
  all?: boolean;
}

/** Up to this many clusters are listed whole; a larger rollout lists those that need eyes and counts the rest. */
export const listedWhole = 20;

/** The clusters a view selects (names and phase as given; `checkView` has refused unknown ones). */
export function selectClusters(s: RolloutStatus, view: StatusView = {}): ClusterStatus[] {
  const names = view.cluster && view.cluster.length > 0 ? new Set(view.cluster) : undefined;
  return s.clusters.filter((c) => (!names || names.has(c.name)) && (!view.phase || c.phase === view.phase));
}

/**
 * A rollout's status as a person reads it: header, phases with counts by state, clusters, recent
 * decisions. Every cluster is listed for a small rollout, or with `--all`, `--phase` or `--cluster`; a
 * large one lists the clusters in flight, failed or held by a window, and counts the rest.
 */
export function renderStatus(
  { status: s, shown, live, liveSkipped, waiting, counts, selected: total }: FetchedStatus,
  view: StatusView = {},
): string {
  const head = [
    `rollout ${s.id}  plan ${s.plan}  ${Object.entries(s.versions)
      .map(([n, v]) => `${n} ${v}`)
      .join('  ')}`,
    `state: ${shown.state}${s.currentPhase ? `  phase: ${s.currentPhase}` : ''}  started ${s.startedAt} by ${s.startedBy}${s.startedByVerified ? ' (signed)' : ''}${s.finishedAt ? `  finished ${s.finishedAt}` : ''}`,
  ];
  if (s.source) head.push(`source: ${s.source}`);
  if (s.approvals) head.push(`approvals: ${s.approvals}`);
  if (shown.reason) head.push(`reason: ${shown.reason}`);
  if (waiting) head.push(`waiting: ${waiting}`);
  for (const w of s.warnings ?? []) head.push(`warning: ${w}`);
  const phases = table(['phase', 'state', 'gate', 'clusters', 'by state']);
  for (const p of s.phases) {
    const by = (p.approvals ?? []).map((a) => `${a.by}${a.verified ? ' (signed)' : ''}`).join(', ');
    const gate =
      p.approval === 'auto'
        ? 'auto'
        : p.approvedBy
          ? `approved by ${by || p.approvedBy.by}`
          : by
            ? `approved so far by ${by}`
            : 'approval required';
    phases.push([p.name, p.state, gate, String(p.clusters.length), countsByState(counts[p.name] ?? {})]);
  }
  const diffs = s.phases.flatMap((p) =>
    p.diff && (p.state === 'awaiting-approval' || p.name === s.currentPhase)
      ? [`${p.name} ${diffLines(p.diff, 10).join('\n  ')}`]
      : [],
  );
  const selected = selectClusters(s, view);
  const whole = selected.length === total;
  const every = whole && (view.all || view.phase || view.cluster?.length || total <= listedWhole);
  // A large rollout lists the clusters needing eyes; of those in flight, only the ones whose step was
  // read (the longest in flight) when there are more: the rest are counted below.
  const inFlightUnread = (c: (typeof selected)[number]) =>
    !!liveSkipped && (c.state === 'running' || c.state === 'rolling-back') && !live.has(c.name);
  const listed = every ? selected : selected.filter((c) => needsEyes(c) && !inFlightUnread(c));
  const clusters = table(['cluster', 'phase', 'state', 'step', 'attempts', 'note']);
  for (const c of listed) {
    const now = live.get(c.name);
    clusters.push([c.name, c.phase, c.state, stepOf(c, now), String(c.attempts), note(c, now)]);
  }
  const out = [...head, phases.toString(), ...diffs];
  if (listed.length > 0) out.push(clusters.toString());
  if (liveSkipped) {
    out.push(
      every
        ? `step read for the ${live.size} clusters longest in flight; ${liveSkipped} more in flight show none (--cluster NAME reads one)`
        : `listed in flight: the ${live.size} longest, with their step; ${liveSkipped} more in flight are counted below (--cluster NAME reads one)`,
    );
  }
  if (listed.length < total) {
    // Those not listed, counted: every phase's counts less the listed clusters.
    const rest: Partial<Record<ClusterState, number>> = {};
    for (const phase of Object.values(counts)) {
      for (const [state, n] of Object.entries(phase))
        rest[state as ClusterState] = (rest[state as ClusterState] ?? 0) + n;
    }
    for (const c of listed) rest[c.state] = (rest[c.state] ?? 0) - 1;
    out.push(
      `${listed.length === 0 ? 'no cluster in flight or failed; ' : ''}${total - listed.length} more not listed: ${countsByState(rest)} (--all, --phase NAME or --cluster NAME lists them)`,
    );
  }
  if (s.decisions.length > 0) {
    out.push('decisions:');
    for (const d of s.decisions.slice(-10)) {
      const target = d.phase ?? d.cluster ?? d.scope ?? '';
      out.push(`  ${d.at}  ${d.kind}${target ? ` ${target}` : ''} by ${d.by}${d.comment ? `: ${d.comment}` : ''}`);
    }
  }
  return out.join('\n');
}

/**
 * The step column: the live step; between two steps (the next one not started yet: a workflow task or a
 * window away) the last one done, or `starting` before the first; when the cluster's workflow did not
 * answer in time, its activity in progress; else the step that failed.
 */
function stepOf(c: ClusterStatus, now: LiveCluster | undefined): string {
  if (now?.step) return now.step;
  if (now?.done) return now.done.length ? `after ${now.done.at(-1)}` : 'starting';
  if (now?.activity) return `${now.activity} (activity)`;
  return c.failedStep ?? '';
}

/** What a person should know about one cluster: why it failed, that it is unreachable, what was resumed. */
function note(c: ClusterStatus, now: LiveCluster | undefined): string {
  if (now?.unreachable) {
    const u = now.unreachable;
    return `unreachable since ${u.since}, retrying (${u.attempts} attempts): ${u.error}`;
  }
  if (now?.retrying) return `retrying (attempt ${now.retrying.attempt}): ${now.retrying.error}`;
  if (now?.waitingFor) return now.waitingFor;
  if (c.error) return c.error;
  if (c.waitingFor) return c.waitingFor;
  const parts: string[] = [];
  if (c.resumedSteps?.length) parts.push(`resumed after an interruption: ${c.resumedSteps.join(', ')}`);
  if (c.skippedSteps?.length) parts.push(`found already in place: ${c.skippedSteps.join(', ')}`);
  if (c.notApplicable?.length) parts.push(`not for this cluster (labels): ${c.notApplicable.join(', ')}`);
  return parts.join('; ');
}

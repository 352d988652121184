import { table } from './table.js';
import type { ActivityHeartbeat } from '../activities/contracts.js';
import { diffLines } from '../domain/diff.js';
import type { DisplayState } from '../domain/display.js';
import type { ClusterStatus, RolloutStatus } from '../domain/types.js';
import type { ClusterProgress } from '../workflows/api.js';

/** What a cluster's workflow is doing now, with what Temporal knows of its retrying activity. */
export interface LiveCluster extends Partial<ClusterProgress> {
  /** The cluster does not answer; the step retries until its timeout. */
  unreachable?: ActivityHeartbeat['unreachable'];
  /** Temporal is retrying the step's activity (a worker died, a conflict...): its attempt and last failure. */
  retrying?: { attempt: number; error: string };
}

export interface FetchedStatus {
  status: RolloutStatus;
  shown: DisplayState;
  live: Map<string, LiveCluster>;
}

/** A rollout's status as a person reads it: header, phases, clusters, recent decisions. */
export function renderStatus({ status: s, shown, live }: FetchedStatus): string {
  const head = [
    `rollout ${s.id}  plan ${s.plan}  chart ${s.chartVersion}  operator ${s.operatorVersion}`,
    `state: ${shown.state}${s.currentPhase ? `  phase: ${s.currentPhase}` : ''}  started ${s.startedAt} by ${s.startedBy}${s.finishedAt ? `  finished ${s.finishedAt}` : ''}`,
  ];
  if (s.source) head.push(`source: ${s.source}`);
  if (s.approvals) head.push(`approvals: ${s.approvals}`);
  if (shown.reason) head.push(`reason: ${shown.reason}`);
  const phases = table(['phase', 'state', 'gate', 'clusters']);
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
    phases.push([p.name, p.state, gate, String(p.clusters.length)]);
  }
  const diffs = s.phases.flatMap((p) =>
    p.diff && (p.state === 'awaiting-approval' || p.name === s.currentPhase)
      ? [`${p.name} ${diffLines(p.diff).join('\n  ')}`]
      : [],
  );
  const clusters = table(['cluster', 'phase', 'state', 'step', 'attempts', 'note']);
  for (const c of s.clusters) {
    const now = live.get(c.name);
    clusters.push([c.name, c.phase, c.state, now?.step ?? c.failedStep ?? '', String(c.attempts), note(c, now)]);
  }
  const out = [...head, phases.toString(), ...diffs, clusters.toString()];
  if (s.decisions.length > 0) {
    out.push('decisions:');
    for (const d of s.decisions.slice(-10)) {
      const target = d.phase ?? d.cluster ?? d.scope ?? '';
      out.push(`  ${d.at}  ${d.kind}${target ? ` ${target}` : ''} by ${d.by}${d.comment ? `: ${d.comment}` : ''}`);
    }
  }
  return out.join('\n');
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
  return parts.join('; ');
}

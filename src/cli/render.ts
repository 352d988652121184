import Table from 'cli-table3';
import type { ClusterProgress } from '../workflows/definitions.js';
import type { RolloutStatus } from '../domain/types.js';

/** A rollout's status as a person reads it: header, phases, clusters, recent decisions. */
export function renderStatus(s: RolloutStatus, progress: Map<string, ClusterProgress> = new Map()): string {
  const state = s.paused && !s.finishedAt ? `${s.state} (paused)` : s.state;
  const head = [
    `rollout ${s.id}  plan ${s.plan}  chart ${s.chartVersion}  operator ${s.operatorVersion}`,
    `state: ${state}${s.currentPhase ? `  phase: ${s.currentPhase}` : ''}  started ${s.startedAt} by ${s.startedBy}${s.finishedAt ? `  finished ${s.finishedAt}` : ''}`,
  ];
  if (s.reason) head.push(`reason: ${s.reason}`);
  const phases = new Table({ head: ['phase', 'state', 'gate', 'clusters'], style: { head: [] } });
  for (const p of s.phases) {
    const gate = p.approval === 'auto' ? 'auto' : p.approvedBy ? `approved by ${p.approvedBy.by}` : 'approval required';
    phases.push([p.name, p.state, gate, String(p.clusters.length)]);
  }
  const clusters = new Table({ head: ['cluster', 'phase', 'state', 'step', 'attempts', 'note'], style: { head: [] } });
  for (const c of s.clusters) {
    const live = progress.get(c.name);
    const note = c.error ?? (c.skippedSteps?.length ? `already in place: ${c.skippedSteps.join(', ')}` : '');
    clusters.push([c.name, c.phase, c.state, live?.step ?? c.failedStep ?? '', String(c.attempts), note]);
  }
  const out = [...head, phases.toString(), clusters.toString()];
  if (s.decisions.length > 0) {
    out.push('decisions:');
    for (const d of s.decisions.slice(-10)) {
      const target = d.phase ?? d.cluster ?? d.scope ?? '';
      out.push(`  ${d.at}  ${d.kind}${target ? ` ${target}` : ''} by ${d.by}${d.comment ? `: ${d.comment}` : ''}`);
    }
  }
  return out.join('\n');
}

import { diffLines } from './diff.js';
import { displayState, stateCounts } from './display.js';
import type { RolloutStatus } from './types.js';

/**
 * The rollout's current details for the Temporal Web UI, as Markdown: the state and why, then a row per
 * phase. Large phases show counts by state, so the text stays short whatever the fleet's size.
 */
export function detailsMarkdown(status: RolloutStatus): string {
  const { state, reason } = displayState(status);
  const rows = status.phases.map((p) => `| ${p.name} | ${p.state} | ${clusterSummary(status, p.name)} |`);
  return [
    `**${state}**${reason ? `: ${asCode(reason)}` : ''}`,
    '',
    ...(status.source ? [`source: ${status.source}`, ''] : []),
    '| phase | state | clusters |',
    '|---|---|---|',
    ...rows,
    ...diffOfCurrent(status),
  ].join('\n');
}

/** The diff of the phase at its gate, in a few lines (digest and groups); nothing when there is none. */
function diffOfCurrent(status: RolloutStatus): string[] {
  const phase = status.phases.find((p) => p.name === status.currentPhase);
  if (!phase?.diff) return [];
  return ['', `**${phase.name}** ${diffLines(phase.diff, 3).join('  \n')}`];
}

/** Names and states for small phases; counts by state for large ones, with the failed clusters named. */
function clusterSummary(status: RolloutStatus, phase: string): string {
  const mine = status.clusters.filter((c) => c.phase === phase);
  if (mine.length <= 10) return mine.map((c) => `${c.name}: ${c.state}`).join(', ');
  const failed = mine.filter((c) => c.state === 'failed' || c.state === 'rollback-failed').map((c) => c.name);
  const named =
    failed.length === 0 ? '' : ` (failed: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''})`;
  return stateCounts(mine) + named;
}

/**
 * Commands in a reason as code spans, so that Markdown renders them as typed: the Web UI's renderer turns
 * a bare "--phase" into an en dash, and the copied command then fails.
 */
export function asCode(text: string): string {
  return text.replace(/rollout [a-z-]+ [^;()]*?(?=\s*[;()]|$)/g, (cmd) => `\`${cmd.trim()}\``);
}

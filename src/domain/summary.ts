import { displayState, stateCounts } from './display.js';
import type { RolloutStatus } from './types.js';

/**
 * The rollout's current details for the Temporal Web UI, as Markdown: the state and why (a gate's reason
 * carries its diff's digest and first group), then a row per phase. The UI shows them in a frame of fixed
 * height (about 235 px), so they stay this short whatever the fleet's size: large phases show counts by
 * state, the pinned source is in the static summary `rollout start` sets, and `rollout diff` has the rest.
 */
export function detailsMarkdown(status: RolloutStatus): string {
  const { state, reason } = displayState(status);
  const rows = status.phases.map((p) => `| ${p.name} | ${p.state} | ${clusterSummary(status, p.name)} |`);
  return [
    `**${state}**${reason ? `: ${asCode(reason)}` : ''}`,
    '',
    '| phase | state | clusters |',
    '|---|---|---|',
    ...rows,
    // The UI sizes its frame short of the page by the page's margins, cutting off the last line; a blank
    // paragraph at the end is what it cuts.
    '',
    '\u00a0',
  ].join('\n');
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

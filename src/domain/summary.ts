import { componentsOf, versionsLine } from '../plan/components.js';
import { displayState, stateCounts } from './display.js';
import { describeSource } from './source.js';
import type { ClusterStatus, RolloutInput, RolloutStatus } from './types.js';

/** What a rollout rolls, in a line: the static summary `rollout start` gives it in the Web UI. */
export function rolloutSummary(input: Pick<RolloutInput, 'plan' | 'versions' | 'source'>): string {
  return `Roll ${input.plan.metadata.name}: ${versionsLine(componentsOf(input.plan), input.versions)}, from ${describeSource(input.source)}`;
}

/**
 * The rollout's current details for the Temporal Web UI, as Markdown: the state and why (a gate's reason
 * carries its diff's digest and first group), then a row per phase. The UI shows them in a frame of fixed
 * height (about 235 px), so they stay this short whatever the fleet's size: large phases show counts by
 * state, the pinned source is in the static summary `rollout start` sets, and `rollout diff` has the rest.
 * A run that continued as new has no static summary (Temporal does not carry it, and the SDK's
 * continue-as-new cannot set one): `summary` is then that line, shown last. `clustersIn` gives a phase's
 * clusters: the rollout keeps them by phase, and writes these details at every workflow task, replays too.
 */
export function detailsMarkdown(
  status: RolloutStatus,
  summary?: string,
  clustersIn: (phase: string) => readonly ClusterStatus[] = (phase) => status.clusters.filter((c) => c.phase === phase),
): string {
  const { state, reason } = displayState(status);
  const rows = status.phases.map((p) => `| ${p.name} | ${p.state} | ${clusterSummary(clustersIn(p.name))} |`);
  return [
    `**${state}**${reason ? `: ${asCode(reason, quotedIn(status))}` : ''}`,
    '',
    '| phase | state | clusters |',
    '|---|---|---|',
    ...rows,
    ...(summary ? ['', asCode(summary)] : []),
    // The UI sizes its frame short of the page by the page's margins, cutting off the last line; a blank
    // paragraph at the end is what it cuts.
    '',
    '\u00a0',
  ].join('\n');
}

/** Names and states for small phases; counts by state for large ones, with the failed clusters named. */
function clusterSummary(mine: readonly ClusterStatus[]): string {
  if (mine.length <= 10) return mine.map((c) => `${c.name}: ${c.state}`).join(', ');
  const failed = mine.filter((c) => c.state === 'failed' || c.state === 'rollback-failed').map((c) => c.name);
  const named =
    failed.length === 0 ? '' : ` (failed: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''})`;
  return stateCounts(mine) + named;
}

/** What a reason quotes from a tool or a cluster: the clusters' errors. */
function quotedIn(status: RolloutStatus): string[] {
  return status.clusters.flatMap((c) => (c.error ? [c.error] : []));
}

/**
 * Commands in a reason, and what it quotes from a tool or a cluster (`quoted`: error texts), as code
 * spans, so that Markdown renders them as typed: the Web UI's renderer turns a bare "--debug" into an en
 * dash and straight quotes into curly ones, and a copied command or message is then wrong.
 */
export function asCode(text: string, quoted: readonly string[] = []): string {
  const commands = (prose: string) =>
    prose.replace(/rollout [a-z-]+ [^;()]*?(?=\s*[;()]|$)/g, (cmd) => codeSpan(cmd.trim()));
  const spans = quotedSpans(text, quoted);
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    out += commands(text.slice(at, start)) + codeSpan(text.slice(start, end));
    at = end;
  }
  return out + commands(text.slice(at));
}

/** Where each quoted text stands in `text`, longest first, without overlaps, in order. */
function quotedSpans(text: string, quoted: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const q of [...new Set(quoted)].filter((x) => x.trim()).sort((a, b) => b.length - a.length)) {
    for (let i = text.indexOf(q); i >= 0; i = text.indexOf(q, i + q.length)) {
      const end = i + q.length;
      if (!spans.some(([s, e]) => i < e && end > s)) spans.push([i, end]);
    }
  }
  return spans.sort((a, b) => a[0] - b[0]);
}

/** A Markdown code span holding `text` as it is, whatever backticks it has. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\n/g, ' ')}${pad}${fence}`;
}

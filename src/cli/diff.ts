import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import type { ClusterDiffText } from '../activities/contracts.js';
import { groupLine } from '../domain/diff.js';
import { resolvePhases } from '../plan/resolve.js';
import { releaseQuery, type releaseDiff, type ReleaseDiffInput, type RolloutRelease } from '../workflows/api.js';
import { parse } from './options.js';
import { loadPlanFile } from './plan-file.js';
import { CliError, exitCodes, withClient } from './shared.js';
import { colour } from './table.js';
import { action, outputOption, type Outcome } from './verb.js';
import { componentsOf, overlaysOf } from '../plan/components.js';
import {
  chartVersionOption,
  chosenVersions,
  operatorVersionOption,
  setOption,
  type VersionOptions,
} from './versions.js';

/** For a plan: the versions `rollout start --set` (or its shorthands) would roll. */
export interface DiffOptions extends VersionOptions {
  phase?: string;
  cluster?: string;
  /** At most this many bytes of diff text in all (with a truncation marker past it). */
  maxBytes: number;
}

/**
 * `rollout diff ID|PLAN [--phase P] [--cluster C]`: what the rollout (or the plan, before any rollout)
 * would change on its clusters, rendered and read on a worker (the CLI needs no cluster credentials),
 * printed once per group of clusters with the same diff. Exits 1 when any cluster's diff could not be
 * computed: "no changes" is never said of a diff nobody saw.
 */
export async function diffCommand(target: string, opts: DiffOptions): Promise<Outcome> {
  const fromPlan = existsSync(target);
  if (!fromPlan && (opts.chartVersion || opts.operatorVersion || opts.set?.length)) {
    throw new CliError(
      `--set, --chart-version and --operator-version preview a plan file; rollout ${target} rolls the versions it was started with`,
      exitCodes.usage,
    );
  }
  const release = fromPlan ? await planRelease(target, opts) : undefined;
  return withClient(async (client, config) => {
    const what = release ?? (await rolloutRelease(client, target));
    const clusters = chosen(what, opts, fromPlan ? undefined : await currentPhase(client, target));
    const input: ReleaseDiffInput = {
      source: what.source,
      components: what.components,
      versions: what.versions,
      clusters: clusters.map(({ cluster, context, overlays, labels }) => ({ cluster, context, overlays, labels })),
      timeout: what.timeout,
      maxBytes: opts.maxBytes,
    };
    const prefix = fromPlan ? `diff-${release?.plan ?? 'plan'}` : `${target}:diff`;
    const groups = await client.workflow.execute<typeof releaseDiff>('releaseDiff', {
      taskQueue: config.taskQueue,
      workflowId: `${prefix}:${opts.cluster ?? opts.phase ?? 'all'}:${randomUUID().slice(0, 8)}`,
      args: [input],
      workflowExecutionTimeout: '15m',
    });
    const failed = groups.filter((g) => g.error).flatMap((g) => g.clusters);
    return { text: render(groups), data: groups, exitCode: failed.length > 0 ? exitCodes.failed : exitCodes.ok };
  });
}

/** A plan file's release, pinned now as `rollout start` would pin it, at the versions start would take. */
async function planRelease(file: string, opts: VersionOptions): Promise<RolloutRelease & { plan: string }> {
  const { plan, source } = await loadPlanFile(file);
  const phases = new Map(resolvePhases(plan).flatMap((p) => p.clusters.map((c) => [c, p.name] as const)));
  const components = componentsOf(plan);
  return {
    plan: plan.metadata.name,
    source,
    components,
    versions: chosenVersions(plan, file, opts),
    timeout: plan.spec.verify.timeout,
    clusters: plan.spec.clusters.map((c) => ({
      cluster: c.name,
      context: c.context,
      overlays: overlaysOf(c, components),
      labels: c.labels,
      phase: phases.get(c.name) ?? '',
    })),
  };
}

async function rolloutRelease(client: Client, id: string): Promise<RolloutRelease> {
  try {
    return await client.workflow.getHandle(id).query(releaseQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no rollout ${id}, and no plan file of that name`);
    throw new CliError(`cannot read rollout ${id}: ${(err as Error).message}`);
  }
}

async function currentPhase(client: Client, id: string): Promise<string | undefined> {
  const desc = await client.workflow.getHandle(id).describe();
  const phase = desc.searchAttributes['RolloutPhase'];
  return Array.isArray(phase) && typeof phase[0] === 'string' && phase[0] ? phase[0] : undefined;
}

/** The clusters to diff: one, a phase's, the phase in progress's, or (for a plan) all of them. */
function chosen(what: RolloutRelease, opts: DiffOptions, current: string | undefined) {
  if (opts.cluster) {
    const c = what.clusters.find((x) => x.cluster === opts.cluster);
    if (!c) {
      const known = what.clusters.map((x) => x.cluster).join(', ');
      throw new CliError(`unknown cluster ${opts.cluster}; clusters: ${known}`, exitCodes.usage);
    }
    return [c];
  }
  const phase = opts.phase ?? current;
  if (!phase) return what.clusters;
  const mine = what.clusters.filter((c) => c.phase === phase);
  if (mine.length === 0) {
    const phases = [...new Set(what.clusters.map((c) => c.phase))].join(', ');
    throw new CliError(`unknown phase ${phase}; phases: ${phases}`, exitCodes.usage);
  }
  return mine;
}

/** Each group's header and diff; coloured on a terminal, plain otherwise. */
function render(groups: ClusterDiffText[]): string {
  const paint = colour();
  const tint = (line: string) => {
    if (!paint) return line;
    if (line.startsWith('+++') || line.startsWith('---')) return `\x1b[1m${line}\x1b[0m`;
    if (line.startsWith('+')) return `\x1b[32m${line}\x1b[0m`;
    if (line.startsWith('-')) return `\x1b[31m${line}\x1b[0m`;
    if (line.startsWith('@@')) return `\x1b[36m${line}\x1b[0m`;
    return line;
  };
  return groups
    .map((g) => {
      const body = g.error
        ? '(not computed: see the error above)'
        : g.text
          ? g.text.trimEnd().split('\n').map(tint).join('\n')
          : '(no changes)';
      return `== ${groupLine(g, 20)}\n${body}`;
    })
    .join('\n\n');
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .argument('<rollout-or-plan>', 'a rollout ID, or a plan file to preview before any rollout')
    .description('show what a rollout (or a plan) would change on its clusters, grouped by identical diffs')
    .option('--phase <name>', 'the clusters of this phase (default: the phase in progress)')
    .option('--cluster <name>', 'one cluster')
    .addOption(setOption('for a plan: preview'))
    .addOption(chartVersionOption('for a plan: preview'))
    .addOption(operatorVersionOption('for a plan: preview'))
    .addOption(
      new Option('--max-bytes <n>', 'most diff text to print, in bytes')
        .argParser(parse.positiveInteger)
        .default(256 * 1024),
    )
    .addOption(outputOption())
    .action(action(diffCommand));
}

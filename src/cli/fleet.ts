import { randomUUID } from 'node:crypto';
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { countsLine } from '../domain/fleet.js';
import type { FleetRelease, FleetReport } from '../domain/types.js';
import { parseDuration } from '../plan/duration.js';
import type { RolloutPlan } from '../plan/schema.js';
import type { fleetStatus, FleetInput } from '../workflows/api.js';
import { CliError, exitCodes, loadPlanFile, withClient, type LoadedPlan } from './shared.js';
import { table } from './table.js';
import { action, outputOption, type Outcome } from './verb.js';
import { WorkflowType } from '../domain/names.js';
import { overlaysOf } from '../domain/source.js';

export interface FleetOptions {
  /** Also (re)create a Temporal Schedule running this check every so often (e.g. 1h). */
  schedule?: string;
}

/** What the check reads, from a plan: its releases at the plan's versions, every cluster, the cache check. */
function fleetInput(plan: RolloutPlan, source: FleetInput['source']): FleetInput {
  const { release, cache, synchronizer } = plan.spec;
  return {
    plan: plan.metadata.name,
    source,
    operator: release.operator,
    chart: release.chart,
    operatorVersion: release.operator.version,
    chartVersion: release.chart.version,
    clusters: plan.spec.clusters.map((c) => ({ cluster: c.name, context: c.context, overlays: overlaysOf(c) })),
    cache,
    cacheKey: synchronizer?.cacheKey,
  };
}

/**
 * `rollout fleet PLAN`: one row per cluster, what the config source wants against what Helm says runs,
 * and a verdict; read on a worker (the CLI needs no cluster credentials). Exit 0 when every cluster is in
 * sync, 1 when anything drifted, failed or did not answer. `--schedule 1h` also keeps a Temporal Schedule
 * running the same check, whose outcome shows in the Web UI (FleetVerdict, current details).
 */
export async function fleetCommand(file: string, opts: FleetOptions): Promise<Outcome> {
  const loaded = await loadPlanFile(file);
  const every = opts.schedule;
  if (every !== undefined && !parseDuration(every)) {
    throw new CliError(`--schedule must be a duration such as 30m or 1h, not "${every}"`, exitCodes.usage);
  }
  return withClient(async (client, config) => {
    const input = fleetInput(loaded.plan, loaded.source);
    const report = await client.workflow.execute<typeof fleetStatus>('fleetStatus', {
      taskQueue: config.taskQueue,
      workflowId: `fleet-${loaded.plan.metadata.name}-${randomUUID().slice(0, 8)}`,
      args: [input],
      workflowExecutionTimeout: '30m',
    });
    const text = [render(report)];
    if (every) text.push(await schedule(client, config.taskQueue, loaded, every));
    const drift = report.rows.some((r) => r.verdict !== 'in-sync');
    return { text: text.join('\n'), data: report, exitCode: drift ? exitCodes.failed : exitCodes.ok };
  });
}

/**
 * A schedule that follows the config source: a git source's ref is resolved on every run (not pinned
 * now), so drift means "differs from what the branch says today".
 */
async function schedule(client: Client, taskQueue: string, loaded: LoadedPlan, every: string): Promise<string> {
  const git = loaded.plan.spec.source?.git;
  const input = fleetInput(loaded.plan, git ? { kind: 'git-ref', git } : loaded.source);
  const scheduleId = `fleet-${loaded.plan.metadata.name}`;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: WorkflowType.FleetStatus,
    taskQueue,
    args: [input],
    workflowExecutionTimeout: '30m',
  };
  try {
    await client.schedule.create({ scheduleId, spec: { intervals: [{ every }] }, action });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((s) => ({ ...s, spec: { intervals: [{ every }] }, action }));
  }
  return `scheduled: ${scheduleId} checks every ${every}; find drift in the Web UI with FleetVerdict = "drift"`;
}

function releaseCell(r: FleetRelease | undefined): string {
  if (!r) return '?';
  if (r.version === undefined) return `not installed (wants ${r.desiredVersion})`;
  const want = r.version.replace(/^v/, '') === r.desiredVersion.replace(/^v/, '') ? '' : ` (wants ${r.desiredVersion})`;
  const values = r.valuesDigest === r.desiredValues ? '' : ', values differ';
  // Revisions this tool makes name their rollout; any other was made by another Helm client (a person, CI).
  const by = r.changedBy ? `by ${r.changedBy}` : 'not by a rollout';
  return `${r.version}${want} rev ${r.revision} ${r.status} ${by}${values}`;
}

function render(report: FleetReport): string {
  const rows = table(['cluster', 'operator', 'chart', 'cache', 'verdict']);
  for (const r of report.rows) {
    rows.push([
      r.cluster,
      releaseCell(r.operator),
      releaseCell(r.chart),
      r.cache ? (r.cache.ready ? 'ready' : 'not ready') : '',
      r.verdict === 'in-sync' ? r.verdict : `${r.verdict}: ${r.reasons.join('; ')}`,
    ]);
  }
  return [
    `fleet of plan ${report.plan}: ${countsLine(report.counts)}`,
    `desired state from ${report.source} at ${report.at}`,
    rows.toString(),
  ].join('\n');
}

export function registerFleet(program: Command): void {
  program
    .command('fleet')
    .argument('<plan>', 'plan file: its clusters, releases and config source')
    .description('what runs on every cluster against what the config source wants, with a verdict per cluster')
    .addOption(new Option('--schedule <every>', 'also keep a Temporal Schedule running this check (e.g. 1h)'))
    .addOption(outputOption())
    .action(action(fleetCommand));
}

import { randomUUID } from 'node:crypto';
import { ScheduleAlreadyRunning, type Client, type WorkflowHandle } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { countsLine, fleetPageSize } from '../domain/fleet.js';
import type { FleetRelease, FleetReport, FleetRow } from '../domain/types.js';
import { parseDuration } from '../plan/duration.js';
import type { RolloutPlan } from '../plan/schema.js';
import { fleetPageQuery, type fleetStatus, type FleetInput } from '../workflows/api.js';
import { loadPlanFile, type LoadedPlan } from './plan-file.js';
import { CliError, exitCodes, withClient } from './shared.js';
import { table } from './table.js';
import { action, outputOption, type Outcome } from './verb.js';
import { WorkflowType } from '../domain/names.js';
import { componentsOf, overlaysOf, planVersions } from '../plan/components.js';

export interface FleetOptions {
  /** Also (re)create a Temporal Schedule running this check every so often (e.g. 1h). */
  schedule?: string;
}

/** What the check reads, from a plan: its releases at the plan's versions, every cluster, the cache check. */
export function fleetInput(plan: RolloutPlan, source: FleetInput['source']): FleetInput {
  const { cache, synchronizer } = plan.spec;
  const components = componentsOf(plan);
  return {
    plan: plan.metadata.name,
    source,
    components,
    versions: planVersions(components),
    clusters: plan.spec.clusters.map((c) => ({
      cluster: c.name,
      context: c.context,
      overlays: overlaysOf(c, components),
      labels: c.labels,
    })),
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
    const handle = await client.workflow.start<typeof fleetStatus>('fleetStatus', {
      taskQueue: config.taskQueue,
      workflowId: `fleet-${loaded.plan.metadata.name}-${randomUUID().slice(0, 8)}`,
      args: [input],
      workflowExecutionTimeout: '30m',
    });
    const summary = await handle.result();
    // The result names the clusters not in sync; every row comes by pages.
    const report: FleetReport = { ...summary, rows: await allRows(handle, summary.total) };
    const text = [render(report)];
    if (every) text.push(await schedule(client, config.taskQueue, loaded, every));
    const drift = report.total !== (report.counts['in-sync'] ?? 0);
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

/** One component on one cluster; "-" where the cluster does not get it, "?" where it could not be read. */
function releaseCell(r: FleetRelease | undefined, reachable: boolean): string {
  if (!r) return reachable ? '-' : '?';
  if (r.version === undefined) return `not installed (wants ${r.desiredVersion})`;
  const want = r.version.replace(/^v/, '') === r.desiredVersion.replace(/^v/, '') ? '' : ` (wants ${r.desiredVersion})`;
  const values = r.valuesDigest === r.desiredValues ? '' : ', values differ';
  // Revisions this tool makes name their rollout; any other was made by another Helm client (a person, CI).
  const by = r.changedBy ? `by ${r.changedBy}` : 'not by a rollout';
  return `${r.version}${want} rev ${r.revision} ${r.status} ${by}${values}`;
}

/** Every row of a finished fleet check, read by the `fleet-page` query a page at a time. */
export async function allRows(handle: WorkflowHandle, total: number): Promise<FleetRow[]> {
  const rows: FleetRow[] = [];
  while (rows.length < total) {
    const page = await handle.query(fleetPageQuery, { offset: rows.length, limit: fleetPageSize });
    if (page.rows.length === 0) break;
    rows.push(...page.rows);
  }
  return rows;
}

/** Rows a person reads in full; past it, the text lists the clusters not in sync (`-o json` has them all). */
const rowsListed = 200;

/** A column per component, in the release's order (as the rows name them). */
function render(report: FleetReport): string {
  const components = [...new Set(report.rows.flatMap((r) => Object.keys(r.releases)))];
  const rows = table(['cluster', ...components, 'cache', 'verdict']);
  const listed = report.rows.length > rowsListed ? report.rows.filter((r) => r.verdict !== 'in-sync') : report.rows;
  for (const r of listed) {
    rows.push([
      r.cluster,
      ...components.map((c) => releaseCell(r.releases[c], r.verdict !== 'unreachable')),
      r.cache ? (r.cache.ready ? 'ready' : 'not ready') : '',
      r.verdict === 'in-sync' ? r.verdict : `${r.verdict}: ${r.reasons.join('; ')}`,
    ]);
  }
  const hidden = report.rows.length - listed.length;
  return [
    `fleet of plan ${report.plan}: ${countsLine(report.counts)}`,
    `desired state from ${report.source} at ${report.at}`,
    ...(listed.length > 0 ? [rows.toString()] : []),
    ...(hidden > 0 ? [`${hidden} clusters in sync are not listed (-o json lists every cluster)`] : []),
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

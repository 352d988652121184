import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityHeartbeat } from '../activities/contracts.js';
import { displayState, exitCodeFor, type ExecutionState } from '../domain/display.js';
import { RolloutState, type RolloutStatus } from '../domain/types.js';
import { progressQuery, snapshotActivityCluster, statusPageQuery } from '../workflows/api.js';
import type { StatusPage, StatusPageRequest } from '../domain/status-page.js';
import {
  listedWhole,
  renderStatus,
  selectClusters,
  type FetchedStatus,
  type LiveCluster,
  type StatusView,
} from './render.js';
import type { Command } from 'commander';
import { clusterFilterOptions } from './options.js';
import { CliError, exitCodes, withClient } from './shared.js';
import { queryCurrentRun } from './current-run.js';
import { action, outputOption, type Outcome } from './verb.js';

/** Why a closed execution closed, as Temporal recorded it (termination reason, uncaught failure). */
async function closeReason(handle: WorkflowHandle): Promise<string | undefined> {
  try {
    await handle.result();
    return undefined;
  } catch (err) {
    let e: unknown = err;
    while (e instanceof Error && e.cause) e = e.cause;
    return e instanceof Error ? e.message : String(e);
  }
}

/** What a workflow's activity in progress is doing, as Temporal records it: its type, heartbeat, retries. */
export interface PendingWork {
  activity: string;
  activityId: string;
  unreachable?: ActivityHeartbeat['unreachable'];
  retrying?: { attempt: number; error: string };
  waiting?: string;
}

/** What an activity in progress is doing, in words: waiting for a peer that does not answer, retrying, or running. */
export function describeWork(work: PendingWork): string {
  if (work.unreachable) {
    const u = work.unreachable;
    return `its ${work.activity} waits for ${u.what ?? 'a peer'}, unreachable since ${u.since} (${u.attempts} attempts): ${u.error}`;
  }
  if (work.retrying)
    return `its ${work.activity} is retrying (attempt ${work.retrying.attempt}): ${work.retrying.error}`;
  return `its ${work.activity} is still running`;
}

/** The activities a workflow has in progress, read from Temporal (no query, so no worker needed). */
export async function pendingWork(handle: WorkflowHandle): Promise<PendingWork[]> {
  return pendingIn(await handle.describe().catch(() => undefined));
}

function pendingIn(desc: WorkflowExecutionDescription | undefined): PendingWork[] {
  return (desc?.raw.pendingActivities ?? []).map((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    const beat = payload ? defaultPayloadConverter.fromPayload<ActivityHeartbeat>(payload) : undefined;
    const attempt = a.attempt ?? 1;
    const error = a.lastFailure?.message;
    return {
      activity: a.activityType?.name ?? 'activity',
      activityId: a.activityId ?? '',
      unreachable: beat?.unreachable,
      ...(beat?.waiting ? { waiting: beat.waiting } : {}),
      retrying: attempt > 1 && error ? { attempt, error } : undefined,
    };
  });
}

/** How long `status` waits for a cluster workflow to answer its progress query (its worker may be busy). */
export const liveQueryMs = 1_000;

/**
 * A cluster workflow's live step, and whether its activity finds the cluster unreachable or is retrying.
 * A rollback's workflow (`progress` false) has no progress query: its step is read from the activity it
 * runs, so a cluster rolling back shows its rollback's step, not the forward step that failed. A progress
 * query not answered within liveQueryMs leaves the step to the activity in progress, read from Temporal.
 */
async function liveOf(client: Client, workflowId: string, progress: boolean): Promise<LiveCluster> {
  const handle = client.workflow.getHandle(workflowId);
  const [answer, pending] = await Promise.all([
    progress
      ? client.withDeadline(Date.now() + liveQueryMs, () => handle.query(progressQuery)).catch(() => undefined)
      : undefined,
    pendingWork(handle),
  ]);
  const live: LiveCluster = answer ?? {};
  if (progress && !answer && pending[0]) live.activity = pending[0].activity;
  if (!progress) live.step = pending[0]?.activity === 'verifyWorkloads' ? 'verify-rollback' : 'rollback';
  for (const work of pending) {
    live.unreachable ??= work.unreachable;
    live.retrying ??= work.retrying;
    live.waitingFor ??= work.waiting;
  }
  return live;
}

/** How many clusters in flight `status` and `watch` read the live step of, at most. */
export const liveReadsMax = 10;

/**
 * The rollout's status as the workflow records it, how Temporal says the execution stands (so that a
 * terminated or timed-out rollout is never shown as running), and the live step of each cluster in flight
 * that the view selects. A view naming a cluster or phase the rollout lacks is refused (exit 2). Read in
 * pages (`status-page`): every cluster the view selects when `every` (JSON) or the view names some, else
 * a large rollout's clusters that need eyes, with every phase's counts.
 */
export async function fetchStatus(
  client: Client,
  id: string,
  view: StatusView = {},
  every = false,
): Promise<FetchedStatus> {
  const handle = client.workflow.getHandle(id);
  let execution: ExecutionState;
  let desc: WorkflowExecutionDescription;
  try {
    desc = await handle.describe();
    execution = { status: desc.status.name };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no rollout ${id}`);
    throw new CliError(`cannot read rollout ${id}: ${(err as Error).message}`);
  }
  if (execution.status !== 'RUNNING') execution.reason = await closeReason(handle);
  // A running rollout may continue as new while it is asked: the newer run answers then.
  const ask = (req: StatusPageRequest) =>
    (execution.status === 'RUNNING'
      ? queryCurrentRun(client, id, desc.runId, statusPageQuery, req)
      : handle.query(statusPageQuery, req)
    ).catch((err: unknown) => {
      throw new CliError(
        `cannot read rollout ${id} (${execution.status.toLowerCase()}${execution.reason ? `: ${execution.reason}` : ''}): ${(err as Error).message}`,
      );
    });
  const paged = await readPaged(ask, view, every);
  const wrong = unknownInView(id, paged.first);
  if (wrong) throw new CliError(wrong, exitCodes.usage);
  const { status } = paged;
  const live = new Map<string, LiveCluster>();
  let liveSkipped = 0;
  let waiting: string | undefined;
  if (execution.status === 'RUNNING' && status.state === RolloutState.Starting) {
    // Before it holds its clusters, the rollout's own work is the preflight: say what keeps it.
    const stuck = pendingIn(desc).find((w) => w.unreachable || w.retrying);
    waiting = stuck && describeWork(stuck);
  }
  if (execution.status === 'RUNNING') {
    // The snapshots the rollout takes itself, before a cluster's workflow starts: their step is live there.
    const snapshots = new Map(
      pendingIn(desc).flatMap((w) => {
        const cluster = snapshotActivityCluster(w.activityId);
        return cluster
          ? [[cluster, { step: 'snapshot', unreachable: w.unreachable, retrying: w.retrying }] as const]
          : [];
      }),
    );
    // Each live read is a query the worker answers and a describe: at most liveReadsMax of them, the
    // clusters longest in flight first (the likeliest stuck), so status answers as fast at 10,000 clusters.
    const inFlight = selectClusters(status, view)
      .filter((c) => (c.state === 'running' || c.state === 'rolling-back') && c.workflowId)
      .sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
    liveSkipped = Math.max(0, inFlight.length - liveReadsMax);
    await Promise.all(
      inFlight.slice(0, liveReadsMax).map(async (c) => {
        const snapshot = c.state === 'running' ? snapshots.get(c.name) : undefined;
        live.set(c.name, snapshot ?? (await liveOf(client, c.workflowId as string, c.state === 'running')));
      }),
    );
  }
  const { counts, total: selected } = paged.first;
  return { status, shown: displayState(status, execution), live, liveSkipped, waiting, counts, selected };
}

/**
 * What `status` and `watch` show, read a page at a time: every cluster the view selects when `every`
 * (JSON) or the view names some (or the rollout is small); else, for a large rollout shown as a table,
 * those that need eyes (the rest are counted). No answer holds more than a page. The table of a large
 * rollout is one query (its clusters needing eyes, with every phase's counts), asked first: under load
 * each query waits its turn on the worker, and that view is the one `watch` repeats. `first.total` is how
 * many clusters the view selects, whichever page was asked first.
 */
export async function readPaged(
  ask: (req: StatusPageRequest) => Promise<StatusPage>,
  view: StatusView,
  every: boolean,
): Promise<{ first: StatusPage; status: RolloutStatus }> {
  const filter: StatusPageRequest = { clusters: view.cluster, phase: view.phase };
  const named = every || !!view.all || !!view.phase || !!view.cluster?.length;
  if (!named) {
    const eyes = await ask({ attention: true });
    const total = Object.values(eyes.counts).reduce(
      (sum, phase) => sum + Object.values(phase).reduce((n, count) => n + (count ?? 0), 0),
      0,
    );
    if (total > listedWhole) return { first: { ...eyes, total, offset: 0 }, status: eyes.status };
  }
  const first = await ask(filter);
  if (first.unknown) return { first, status: first.status };
  const clusters = [...first.status.clusters];
  while (clusters.length < first.total) {
    const next = await ask({ ...filter, offset: clusters.length });
    if (next.status.clusters.length === 0) break;
    clusters.push(...next.status.clusters);
  }
  return { first, status: { ...first.status, clusters } };
}

/** The view's cluster and phase names that the rollout does not have, as one message; undefined when none. */
export function unknownInView(id: string, page: StatusPage): string | undefined {
  const problems: string[] = [];
  const { clusters, phase } = page.unknown ?? {};
  if (clusters) problems.push(`--cluster: ${id} has no cluster ${clusters.join(', ')}`);
  if (phase) {
    problems.push(`--phase: ${id} has no phase ${phase} (it has ${page.status.phases.map((p) => p.name).join(', ')})`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .argument('<id>', 'rollout workflow ID')
    .description('show phases with counts by state, the clusters in flight or failed, decisions')
    .addOption(outputOption());
  clusterFilterOptions(cmd).action(action(statusCommand));
}

/**
 * `rollout status ID [--cluster C]... [--phase P] [--all] [-o table|json]`. Exit 0 unless the rollout ended
 * other than succeeded. JSON holds every cluster the filters select (all of them without filters).
 */
export async function statusCommand(id: string, view: StatusView & { output?: string } = {}): Promise<Outcome> {
  const fetched = await withClient((client) => fetchStatus(client, id, view, view.output === 'json'));
  const { status, shown, live, waiting } = fetched;
  const clusters = selectClusters(status, view).map((c) => ({ ...c, ...pick(live.get(c.name)) }));
  return {
    text: renderStatus(fetched, view),
    data: { ...status, state: shown.state, reason: shown.reason, waiting, clusters },
    exitCode: exitCodeFor(shown),
  };
}

function pick(live: LiveCluster | undefined) {
  return live
    ? {
        step: live.step,
        activity: live.activity,
        unreachable: live.unreachable,
        retrying: live.retrying,
        waitingFor: live.waitingFor,
      }
    : {};
}

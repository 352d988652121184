import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { RegistryState, StartClaim, StartClaimReply } from '../domain/types.js';
import {
  heldClusters,
  sameOwner,
  type HeldCluster,
  type Holding,
  type LockOwner,
  type LockTable,
  type TakeClustersReply,
  type TakeClustersRequest,
} from '../domain/locks.js';
import { MessageName, WorkflowType } from '../domain/names.js';
import { maxPageSize, type StatusPage, type StatusPageRequest } from '../domain/status-page.js';
import { RolloutPlanKey } from '../common/search-attributes.js';
import type { TellRolloutsInput } from '../activities/contracts.js';

/**
 * How a registry (the lock registry, the control registry) is started, by whoever reaches it first. The
 * registries never end (they continue-as-new), so under Worker Versioning they must not stay pinned to the
 * build that started them: AUTO_UPGRADE moves them to each new current build (docs/architecture.md), and
 * their continue-as-new keeps it. On a worker without Worker Versioning the override changes nothing.
 */
export function registryStartOptions(workflowId: string, taskQueue: string) {
  return {
    workflowId,
    taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    versioningOverride: 'AUTO_UPGRADE',
    args: [],
  } as const;
}

/**
 * Whether a rollout still runs: its latest run, in the chain that began with the owner's first run (a
 * rollout that continued as new holds its clusters by its first run's ID). A run the server no longer
 * knows does not.
 */
async function running(client: Client, owner: LockOwner): Promise<boolean> {
  try {
    const latest = await client.workflow.getHandle(owner.rollout).describe();
    const first = latest.raw.workflowExecutionInfo?.firstRunId || latest.runId;
    return latest.status.name === 'RUNNING' && (first === owner.runId || latest.runId === owner.runId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** `held`, less what is held by runs that have closed; and those closed runs. */
async function liveHolders<T extends LockOwner>(
  client: Client,
  held: T[],
): Promise<{ live: T[]; closed: LockOwner[] }> {
  const owners = held.filter((h, i) => held.findIndex((o) => sameOwner(o, h)) === i);
  const up = await Promise.all(owners.map((o) => running(client, o)));
  const closed = owners.filter((_, i) => !up[i]).map(({ rollout, runId }) => ({ rollout, runId }));
  return { live: held.filter((h) => !closed.some((c) => sameOwner(c, h))), closed };
}

/**
 * Takes every cluster for a rollout's run from the lock registry, starting the registry if it never ran:
 * all or none. What closed runs still hold is reclaimed (a rollout terminated by hand never gave its
 * clusters back). Returns the clusters held by running rollouts, each with its holder: none when granted.
 * Idempotent: a retry by the same run is granted what it already holds.
 */
export async function takeClusters(
  client: Client,
  input: { registryId: string; taskQueue: string; owner: LockOwner; clusters: string[] },
): Promise<{ held: Holding[] }> {
  let reclaim: LockOwner[] = [];
  // Reclaiming may race a third rollout taking the same clusters; it then shows as a live holder.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const request: TakeClustersRequest = { owner: input.owner, clusters: input.clusters, reclaim };
    const reply = await client.workflow.executeUpdateWithStart<Workflow, TakeClustersReply, [TakeClustersRequest]>(
      MessageName.TakeClusters,
      {
        args: [request],
        startWorkflowOperation: new WithStartWorkflowOperation(
          WorkflowType.LockRegistry,
          registryStartOptions(input.registryId, input.taskQueue),
        ),
      },
    );
    if (reply.granted) return { held: [] };
    const { live, closed } = await liveHolders(client, reply.held);
    if (live.length > 0) return { held: live };
    reclaim = closed;
  }
  throw new Error(
    `the lock registry ${input.registryId} refused the clusters three times, each time held by closed runs`,
  );
}

/**
 * What running rollouts on `taskQueue` hold, from their own status: each rollout that has taken its
 * clusters holds all of them. The lock registry rebuilds its table from this when it starts without one
 * (its first start, or after a person terminated it), so that losing it frees no cluster. Each rollout's
 * clusters are read in pages (the status page query), so a rollout of 10,000 is no payload over the limit.
 */
export async function heldByRunningRollouts(client: Client, taskQueue: string): Promise<Holding[]> {
  const held: Holding[] = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = '${WorkflowType.Rollout}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`,
  })) {
    const run = client.workflow.getHandle(wf.workflowId, wf.runId);
    const clusters: string[] = [];
    let since: string | undefined;
    let firstRunId: string | undefined;
    for (let offset = 0; ;) {
      const page = await run.query<StatusPage, [StatusPageRequest]>(MessageName.StatusPage, {
        offset,
        limit: maxPageSize,
      });
      since = page.status.locksHeldAt;
      firstRunId = page.status.runId;
      if (!since) break;
      clusters.push(...page.status.clusters.map((c) => c.name));
      offset += page.status.clusters.length;
      if (page.status.clusters.length === 0 || offset >= page.total) break;
    }
    // Held by the rollout's first run, which the status names (the same run ID unless it continued as new).
    if (since) held.push({ rollout: wf.workflowId, runId: firstRunId ?? wf.runId, since, clusters });
  }
  return held;
}

/**
 * Gives back every cluster a rollout's run holds; idempotent. Returns how many it held. A registry that
 * does not run holds nothing (one started later rebuilds its table from the rollouts still running).
 */
export async function releaseClusters(
  client: Client,
  input: { registryId: string; owner: LockOwner },
): Promise<{ released: number }> {
  const handle = client.workflow.getHandle(input.registryId);
  try {
    const released = await handle.executeUpdate<number, [{ owner: LockOwner }]>(MessageName.ReleaseClusters, {
      args: [{ owner: input.owner }],
    });
    return { released };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { released: 0 };
    const running = await handle.describe().then(
      (d) => d.status.name === 'RUNNING',
      () => true,
    );
    if (!running) return { released: 0 };
    throw err;
  }
}

/** A held cluster, and whether its holder still runs (if not, the next rollout to want it reclaims it). */
export type ClusterHold = HeldCluster & { holderRunning: boolean };

/**
 * Who holds the clusters (all of them, or those among `clusters`), from the lock registry; read-only.
 */
export async function listClusterHolds(
  client: Client,
  registryId: string,
  clusters?: string[],
): Promise<ClusterHold[]> {
  const table = await queryIfRunning<LockTable>(client, registryId, MessageName.Locks, { holders: [] });
  const held = heldClusters(table, clusters);
  const { closed } = await liveHolders(client, held);
  return held.map((h) => ({ ...h, holderRunning: !closed.some((c) => sameOwner(c, h)) }));
}

/** The clusters among `clusters` held by running rollouts, each with its holder: what `rollout start` checks. */
export async function findHeldClusters(client: Client, registryId: string, clusters: string[]): Promise<HeldCluster[]> {
  return (await listClusterHolds(client, registryId, clusters)).filter((h) => h.holderRunning);
}

/**
 * The freezes and bad versions in force, from the registry workflow (none when it never ran). The
 * registry's ID is passed by the caller, so activities import nothing of the workflows.
 */
export async function readRegistry(client: Client, registryId: string): Promise<RegistryState> {
  return queryIfRunning<RegistryState>(client, registryId, MessageName.Registry, { freezes: [], denied: [] });
}

/** A query of a long-running workflow (the registries), or `none` when it does not run or never ran. */
async function queryIfRunning<T>(client: Client, workflowId: string, query: string, none: T): Promise<T> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    if ((await handle.describe()).status.name !== 'RUNNING') return none;
    return await handle.query<T>(query);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return none;
    throw err;
  }
}

/**
 * Signals every running rollout on the task queue that `to` selects (one plan's, or one chart version's;
 * all when neither), except those of `exceptPlans`; returns the IDs of those told. A rollout that closed
 * meanwhile needs telling no more. Sent by the control registry after each change, so that a change
 * reaches every running rollout even when the person's CLI stops half-way.
 */
export async function tellRollouts(client: Client, input: TellRolloutsInput): Promise<{ told: string[] }> {
  const clauses = [
    `WorkflowType = '${WorkflowType.Rollout}'`,
    `ExecutionStatus = 'Running'`,
    `TaskQueue = ${quote(input.taskQueue)}`,
  ];
  if (input.to.plan) clauses.push(`${RolloutPlanKey.name} = ${quote(input.to.plan)}`);
  const told: string[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    const plan = wf.typedSearchAttributes.get(RolloutPlanKey);
    if (plan !== undefined && input.exceptPlans?.includes(plan)) continue;
    try {
      await client.workflow.getHandle(wf.workflowId).signal(input.signal, input.args);
      told.push(wf.workflowId);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return { told };
}

/**
 * Takes a signed start's nonce for a run from the control registry, starting the registry if it never ran.
 * Idempotent: the same run asking again is granted again.
 */
export async function claimStart(
  client: Client,
  input: { registryId: string; taskQueue: string; claim: StartClaim },
): Promise<StartClaimReply> {
  return client.workflow.executeUpdateWithStart<Workflow, StartClaimReply, [StartClaim]>(MessageName.ClaimStart, {
    args: [input.claim],
    startWorkflowOperation: new WithStartWorkflowOperation(
      WorkflowType.ControlRegistry,
      registryStartOptions(input.registryId, input.taskQueue),
    ),
  });
}

/** The step each cluster workflow is at, from its `progress` query; a workflow that ended answers none. */
async function stepsOf(client: Client, workflowIds: string[]): Promise<{ workflowId: string; step?: string }[]> {
  return Promise.all(
    workflowIds.map(async (workflowId) => {
      const progress = await client.workflow
        .getHandle(workflowId)
        .query<{ step?: string }>(MessageName.Progress)
        .catch(() => undefined);
      return { workflowId, ...(progress?.step ? { step: progress.step } : {}) };
    }),
  );
}

const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;

/** The activities that talk to the registries and to running rollouts through the Temporal client. */
export function createRegistryActivities(client: Client) {
  return {
    tellRollouts: (input: TellRolloutsInput) => tellRollouts(client, input),
    stepsOf: ({ workflowIds }: { workflowIds: string[] }) => stepsOf(client, workflowIds),
    takeClusters: (input: Parameters<typeof takeClusters>[1]) => takeClusters(client, input),
    releaseClusters: (input: Parameters<typeof releaseClusters>[1]) => releaseClusters(client, input),
    heldByRunningRollouts: ({ taskQueue }: { taskQueue: string }) => heldByRunningRollouts(client, taskQueue),
    registryState: ({ registryId }: { registryId: string }) => readRegistry(client, registryId),
    claimStart: (input: Parameters<typeof claimStart>[1]) => claimStart(client, input),
  };
}

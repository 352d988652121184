import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  invalidLockRequest,
  lockDetails,
  releaseClusters,
  takeClusters,
  type LockOwner,
  type LockTable,
  type TakeClustersRequest,
} from '../domain/locks.js';
import { locksQuery, releaseClustersUpdate, takeClustersUpdate } from './definitions.js';
import { nowIso } from './clock.js';
import { quick } from './activity-options.js';

/**
 * Which rollout holds which cluster, durably: a workflow that waits forever, changes only by update and
 * continues as new when its history grows. Once the table is ready, a handler changes it without
 * awaiting anything, so updates apply one at a time and taking clusters is atomic across rollouts. A
 * rollout takes all its clusters in one update when it starts and gives them back in one when it closes:
 * two updates for a rollout of any size, where a lock workflow per cluster cost a workflow, its task and
 * two of the rollout's events each. The Web UI shows who holds what as its current details.
 */
export async function lockRegistry(carried?: LockTable): Promise<void> {
  const table: LockTable = carried ?? { holders: [] };
  // Started without a table (the first time, or after a person terminated the registry): every update
  // waits until the table is rebuilt from what running rollouts say they hold.
  let ready = carried !== undefined;
  const show = () => setCurrentDetails(lockDetails(table));
  setHandler(locksQuery, () => table, {
    description: 'Every held cluster and the rollout run holding it. No arguments.',
  });
  setHandler(
    takeClustersUpdate,
    async (req) => {
      await condition(() => ready);
      const reply = takeClusters(table, req, nowIso());
      show();
      return reply;
    },
    {
      validator: (req: TakeClustersRequest) => {
        const why = invalidLockRequest(req, true);
        if (why) throw new Error(why);
      },
      description:
        'Sent by a starting rollout, not by people: {"owner": {"rollout": ID, "runId": RUN}, "clusters": [...]}; all or none.',
    },
  );
  setHandler(
    releaseClustersUpdate,
    async ({ owner }) => {
      await condition(() => ready);
      const n = releaseClusters(table, owner);
      show();
      return n;
    },
    {
      validator: (req: { owner: LockOwner }) => {
        const why = invalidLockRequest(req, false);
        if (why) throw new Error(why);
      },
      description: 'Sent by a closing rollout, not by people: {"owner": {"rollout": ID, "runId": RUN}}.',
    },
  );
  while (!ready) {
    try {
      const held = await quick.heldByRunningRollouts({ taskQueue: workflowInfo().taskQueue });
      // A cluster two runs claim (there should be none) stays with the first: nothing is given out twice.
      for (const { since, clusters, ...owner } of held) takeClusters(table, { owner, clusters }, since);
      ready = true;
    } catch (err) {
      // No cluster is given out until every running rollout has said what it holds.
      setCurrentDetails(`**rebuilding the table of held clusters**, retrying: ${(err as Error).message}`);
      await sleep('30s');
    }
  }
  show();
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof lockRegistry>(table);
}

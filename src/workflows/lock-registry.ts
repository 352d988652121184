import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
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

/**
 * Which rollout holds which cluster, durably: a workflow that waits forever, changes only by update (one
 * at a time, so taking clusters is atomic across rollouts) and continues as new when its history grows.
 * A rollout takes all its clusters in one update when it starts and gives them back in one when it
 * closes: two updates for a rollout of any size, where a lock workflow per cluster cost a workflow, its
 * task and the rollout's child events each. The Web UI shows who holds what as its current details.
 */
export async function lockRegistry(table: LockTable = { held: {} }): Promise<void> {
  const show = () => setCurrentDetails(lockDetails(table));
  show();
  setHandler(locksQuery, () => table, {
    description: 'Every held cluster and the rollout run holding it. No arguments.',
  });
  setHandler(
    takeClustersUpdate,
    (req) => {
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
    ({ owner }) => {
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
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof lockRegistry>(table);
}

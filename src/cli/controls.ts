import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { RollbackScope, RolloutStatus } from '../domain/types.js';
import * as rollout from '../workflows/api.js';
import { actor, CliError, print, withClient } from './shared.js';

interface Common {
  as?: string;
  comment?: string;
}

/** Sends one control as a Workflow Update; a refusal comes back at once with its reason (exit 1). */
async function send<A extends object>(
  id: string,
  def: UpdateDefinition<RolloutStatus, [A]>,
  args: A,
  done: (s: RolloutStatus) => string,
): Promise<void> {
  await withClient(async (client) => {
    try {
      const status = await client.workflow.getHandle(id).executeUpdate(def, { args: [args] });
      print(done(status));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new CliError(`refused: ${err.cause?.message ?? err.message}`);
      }
      if (err instanceof WorkflowNotFoundError) {
        throw new CliError(`refused: rollout ${id} does not exist or has already finished (${err.message})`);
      }
      throw new CliError(`cannot reach rollout ${id}: ${(err as Error).message}`);
    }
  });
}

const who = (o: Common) => ({ by: actor(o.as), comment: o.comment });

export const approveCommand = (id: string, o: Common & { phase: string }) =>
  send(id, rollout.approveUpdate, { ...who(o), phase: o.phase }, () => `approved phase ${o.phase} of ${id}`);

export const pauseCommand = (id: string, o: Common) =>
  send(id, rollout.pauseUpdate, who(o), () => `paused ${id}: clusters in flight finish, nothing new starts`);

export const resumeCommand = (id: string, o: Common) => send(id, rollout.resumeUpdate, who(o), () => `resumed ${id}`);

export const abortCommand = (id: string, o: Common & { reason: string }) =>
  send(
    id,
    rollout.abortUpdate,
    { by: actor(o.as), reason: o.reason },
    () => `aborting ${id}: clusters in flight are cancelled, half-done ones restored`,
  );

export const rollbackCommand = (id: string, o: Common & { scope: RollbackScope }) =>
  send(id, rollout.rollbackUpdate, { ...who(o), scope: o.scope }, () => `rolling back ${id} (scope ${o.scope})`);

export const retryCommand = (id: string, o: Common & { cluster: string }) =>
  send(id, rollout.retryUpdate, { ...who(o), cluster: o.cluster }, (s) =>
    s.stopping ? `rolling ${o.cluster} back again in ${id}` : `retrying ${o.cluster} in ${id}`,
  );

export const acceptCommand = (id: string, o: Common & { cluster: string }) =>
  send(id, rollout.acceptUpdate, { ...who(o), cluster: o.cluster }, () => `accepted ${o.cluster} as it is in ${id}`);

export const skipCommand = (id: string, o: Common & { cluster: string }) =>
  send(id, rollout.skipUpdate, { ...who(o), cluster: o.cluster }, () => `skipped ${o.cluster} in ${id}`);

import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { RollbackScope } from '../domain/types.js';
import * as rollout from '../workflows/api.js';
import { Option, type Command } from 'commander';
import { asOption, commentOption } from './options.js';
import { approvalMessage } from '../domain/approvals.js';
import { inFlightNamed } from '../domain/controls.js';
import { signNow, signWithOption } from './sign.js';
import { diffLines } from '../domain/diff.js';
import { queryCurrentRun } from './current-run.js';
import { actor, CliError, withClient } from './shared.js';
import { action, outputOption, type Outcome } from './verb.js';

interface Common {
  as?: string;
  comment?: string;
}

/** Sends one control as a Workflow Update; a refusal comes back at once with its reason (exit 1). */
async function send<A extends object>(
  id: string,
  def: UpdateDefinition<rollout.ControlReply, [A]>,
  args: A,
  done: (r: rollout.ControlReply) => string,
): Promise<Outcome> {
  return withClient(async (client) => {
    try {
      const reply = await client.workflow.getHandle(id).executeUpdate(def, { args: [args] });
      return { text: done(reply), data: reply };
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

/**
 * Approves a gate, bound to the diff the gate shows now: printed (summary and digest) and sent with the
 * approval, so the rollout refuses it if the diff moved on and voids it if the diff changes before the
 * phase starts. Without a diff yet (an early approval), it binds to the pinned source and versions.
 */
export async function approveCommand(id: string, o: Common & { phase: string; signWith?: string }): Promise<Outcome> {
  const actorArgs = who(o); // who acts is a usage question, answered before Temporal is asked anything
  const { diff, run } = await withClient(async (client) => {
    // A page of one cluster: the phases and the run are what is wanted, whatever the fleet's size.
    const status = (
      await queryCurrentRun(client, id, undefined, rollout.statusPageQuery, { limit: 1 }).catch(() => undefined)
    )?.status;
    return { diff: status?.phases.find((p) => p.name === o.phase)?.diff, run: status?.runId ?? '' };
  });
  // Signed with the approver's SSH key over the approval's text (rollout and its run, phase, diff digest,
  // who, when).
  const signed = o.signWith
    ? await signNow(o.signWith, (signedAt) =>
        approvalMessage({ rollout: id, run, phase: o.phase, digest: diff?.digest, by: actorArgs.by, signedAt }),
      )
    : {};
  const args = { ...actorArgs, phase: o.phase, digest: diff?.digest, ...signed };
  const outcome = await send(id, rollout.approveUpdate, args, () =>
    [
      `approved phase ${o.phase} of ${id}`,
      ...(diff
        ? diffLines(diff).map((l) => `  ${l}`)
        : ['  (no diff yet: the approval binds to the pinned source and versions)']),
    ].join('\n'),
  );
  return { ...outcome, data: { ...(outcome.data as object), digest: diff?.digest } };
}

export { inFlightNamed };

/**
 * The clusters a stop word found in flight, with their steps, and what becomes of them: "2 clusters were in
 * flight (lab-2 run-synchronizer, lab-3 wait-cache), cancelled mid-step"; past `inFlightNamed`, the rest
 * counted.
 */
export function inFlightLine(r: Pick<rollout.ControlReply, 'inFlight'>, fate: string, id?: string): string {
  const list = r.inFlight ?? [];
  if (list.length === 0) return 'no cluster was in flight';
  const named = list.slice(0, inFlightNamed).map((c) => (c.step ? `${c.cluster} ${c.step}` : c.cluster));
  const more = list.length - named.length;
  const rest = more > 0 ? ` and ${more} more${id ? `, counted by rollout status ${id}` : ''}` : '';
  return `${list.length} cluster${list.length === 1 ? ' was' : 's were'} in flight (${named.join(', ')}${rest}), ${fate}`;
}

export const pauseCommand = (id: string, o: Common) =>
  send(
    id,
    rollout.pauseUpdate,
    who(o),
    (r) => `paused ${id}: no cluster starts from now on; ${inFlightLine(r, 'left to finish', id)}`,
  );

export const resumeCommand = (id: string, o: Common) => send(id, rollout.resumeUpdate, who(o), () => `resumed ${id}`);

export const abortCommand = (id: string, o: Common & { reason: string }) =>
  send(
    id,
    rollout.abortUpdate,
    { by: actor(o.as), reason: o.reason },
    (r) =>
      `aborting ${id}: no step that changes a cluster starts from now on; ${inFlightLine(r, 'cancelled mid-step', id)}; half-done clusters are restored`,
  );

export const rollbackCommand = (id: string, o: Common & { scope: RollbackScope }) =>
  send(
    id,
    rollout.rollbackUpdate,
    { ...who(o), scope: o.scope },
    (r) =>
      `rolling back ${id} (scope ${o.scope}): no step that changes a cluster starts from now on but the rollback's; ${inFlightLine(r, 'cancelled mid-step', id)}`,
  );

export const retryCommand = (id: string, o: Common & { cluster: string }) =>
  send(id, rollout.retryUpdate, { ...who(o), cluster: o.cluster }, (r) =>
    r.stopping ? `rolling ${o.cluster} back again in ${id}` : `retrying ${o.cluster} in ${id}`,
  );

export const acceptCommand = (id: string, o: Common & { cluster: string }) =>
  send(id, rollout.acceptUpdate, { ...who(o), cluster: o.cluster }, () => `accepted ${o.cluster} as it is in ${id}`);

export const overrideWindowCommand = (id: string, o: Common & { window: string }) =>
  send(
    id,
    rollout.overrideWindowUpdate,
    { ...who(o), window: o.window },
    () => `set window ${o.window} aside for ${id}: its clusters start as if it did not exist`,
  );

export const skipCommand = (id: string, o: Common & { cluster: string }) =>
  send(id, rollout.skipUpdate, { ...who(o), cluster: o.cluster }, () => `skipped ${o.cluster} in ${id}`);

/** The controls: each a Workflow Update; who acts and why go on the record. */
export function registerControls(program: Command): void {
  const control = (name: string, description: string) =>
    program
      .command(name)
      .argument('<id>', 'rollout workflow ID')
      .description(description)
      .addOption(asOption())
      .addOption(outputOption());
  control('approve', 'approve a phase gate')
    .requiredOption('--phase <name>', 'phase to approve (a later phase may be approved early)')
    .addOption(signWithOption('approval'))
    .addOption(commentOption())
    .action(action(approveCommand));
  control('pause', 'start no new clusters until resumed').addOption(commentOption()).action(action(pauseCommand));
  control('resume', 'resume a paused rollout').addOption(commentOption()).action(action(resumeCommand));
  control('abort', 'stop the rollout: clusters in flight are cancelled and half-done ones restored; finished ones stay')
    .requiredOption('--reason <text>', 'why')
    .action(action(abortCommand));
  control('rollback', 'roll clusters back to where they were, newest first')
    .addOption(
      new Option('--scope <scope>', 'the phase in progress, or everything rolled so far')
        .choices(['phase', 'all'])
        .default('phase'),
    )
    .addOption(commentOption())
    .action(action(rollbackCommand));
  const onCluster = (name: string, description: string, which: string, verb: typeof retryCommand) =>
    control(name, description)
      .requiredOption('--cluster <name>', which)
      .addOption(commentOption())
      .action(action(verb));
  onCluster(
    'retry',
    'run a failed cluster again (steps in place are skipped); while rolling back, roll it back again',
    'failed cluster to run again',
    retryCommand,
  );
  onCluster(
    'accept',
    'accept a cluster whose rollback could not finish as it is, so the rollout can end (say why with -m)',
    'cluster whose rollback failed, to leave as it is',
    acceptCommand,
  );
  onCluster('skip', 'leave a failed cluster and go on', 'failed cluster to leave as it is', skipCommand);
  control('override-window', 'set a deploy window aside for this rollout (say why with -m); it is recorded')
    .requiredOption('--window <name>', "the plan's window to set aside")
    .addOption(commentOption())
    .action(action(overrideWindowCommand));
}

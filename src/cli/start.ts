import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { findHeldClusters, readRegistry } from '../client/registries.js';
import { componentRolling, componentsOf } from '../plan/components.js';
import {
  chosenVersions,
  chartVersionOption,
  operatorVersionOption,
  setOption,
  type VersionOptions,
} from './versions.js';
import { FailureType } from '../domain/failure-types.js';
import { describeSource, primaryVersion, sourceRevision } from '../domain/source.js';
import { startMessage } from '../domain/approvals.js';
import { rolloutSummary } from '../domain/summary.js';
import { groupByHolder, heldMessage } from '../domain/locks.js';
import { signNow, signWithOption } from './sign.js';
import type { RolloutInput } from '../domain/types.js';
import { workflowUiLink } from '../common/temporal-config.js';
import {
  lockRegistryId,
  registryWorkflowId,
  rolloutAttributes,
  startedUpdate,
  type rollout,
  type StartedResult,
} from '../workflows/api.js';
import { Option, type Command } from 'commander';
import { asOption, parse } from './options.js';
import { loadPlanFile } from './plan-file.js';
import { actor, CliError, exitCodes, withClient } from './shared.js';
import { describeWork, pendingWork } from './status.js';
import { action, outputOption, type Outcome } from './verb.js';
import { WorkflowType } from '../domain/names.js';

export interface StartOptions extends VersionOptions {
  id?: string;
  as?: string;
  /** Seconds to wait for a worker to take the rollout's locks before saying that none answered. */
  wait?: number;
  /** SSH private key that signs the start, required where the plan's approvals are signed. */
  signWith?: string;
}

/**
 * `rollout start PLAN`: validates, checks no cluster is held by another rollout, starts, then waits until
 * the rollout has passed its preflight and holds its clusters' locks, and says so (or why it was refused).
 */
export async function startCommand(file: string, opts: StartOptions): Promise<Outcome> {
  const { plan, source } = await loadPlanFile(file);
  const waitSeconds = opts.wait ?? 120;
  const input: RolloutInput = {
    plan,
    source,
    versions: chosenVersions(plan, file, opts),
    startedBy: actor(opts.as),
  };
  const components = componentsOf(plan);
  const workflowId = opts.id ?? `rollout-${plan.metadata.name}-${primaryVersion(input)}`;
  const signers = plan.spec.approvals?.allowedSigners;
  if (signers && !opts.signWith) {
    throw new CliError(
      `${file}: spec.approvals.allowedSigners: this plan's approvals are signed, so its rollouts are started signed too: add --sign-with KEY (or set ROLLOUT_SIGNING_KEY)`,
      exitCodes.usage,
    );
  }
  if (signers && opts.signWith) {
    const nonce = randomBytes(16).toString('hex');
    const signed = await signNow(opts.signWith, (signedAt) =>
      startMessage({
        rollout: workflowId,
        plan: plan.metadata.name,
        source: sourceRevision(source),
        versions: input.versions,
        by: input.startedBy,
        signedAt,
        nonce,
      }),
    );
    input.startSignature = { ...signed, nonce };
  }
  return withClient(async (client, config) => {
    await refuseHeldClusters(
      client,
      config.taskQueue,
      plan.spec.clusters.map((c) => c.name),
    );
    await refuseByRegistry(client, registryWorkflowId(config.taskQueue), plan.metadata.name, (chart, version) =>
      componentRolling(components, input.versions, chart, version),
    );
    let handle;
    try {
      handle = await client.workflow.start<typeof rollout>(WorkflowType.Rollout, {
        taskQueue: config.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: new TypedSearchAttributes(rolloutAttributes(input, 'starting')),
        staticSummary: rolloutSummary(input),
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new CliError(`a rollout with ID ${workflowId} is already running; watch it, or pass --id`);
      }
      const cause = (err as Error).cause as Error | undefined;
      if (/search attribute/i.test(cause?.message ?? '')) {
        throw new CliError(
          `namespace ${config.namespace} lacks the search attributes rollouts use (${cause?.message}): run rollout setup once for the namespace, then start again`,
        );
      }
      throw err;
    }
    const link = workflowUiLink(config, workflowId);
    const started = await outcome(handle.executeUpdate(startedUpdate), waitSeconds * 1000);
    if (started === 'no answer') {
      const [work] = await pendingWork(handle);
      const doing = !work
        ? `no worker has taken it up: is a rollout-worker running on task queue ${config.taskQueue}?`
        : describeWork(work);
      throw new CliError(
        [
          `created ${workflowId}, but it did not hold its clusters within ${waitSeconds}s: ${doing}`,
          `It holds no cluster yet and goes on by itself; follow it: rollout watch ${workflowId}`,
          ...(link ? [`web UI: ${link}`] : []),
        ].join('\n'),
      );
    }
    const text = [
      `started ${workflowId}: preflight passed, holding ${started.clusters} cluster locks`,
      `pinned to ${describeSource(source)}`,
    ];
    if (link) text.push(`web UI: ${link}`);
    text.push(`follow it: rollout watch ${workflowId}`);
    const revision = sourceRevision(source);
    const data = { id: workflowId, clusters: started.clusters, state: started.state, source: revision, link };
    return { text: text.join('\n'), data };
  });
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .argument('<plan>', 'plan file')
    .description('start a rollout; waits until it holds its clusters, prints its workflow ID and Web UI link')
    .addOption(setOption('roll'))
    .addOption(chartVersionOption('roll'))
    .addOption(operatorVersionOption('roll'))
    .option('--id <workflowId>', "workflow ID (default: rollout-<plan>-<the product chart's version>)")
    .addOption(
      new Option('--wait <seconds>', 'how long to wait for a worker to pass preflight and take the locks')
        .argParser(parse.positiveNumber)
        .default(120),
    )
    .addOption(asOption())
    .addOption(signWithOption('start (required where the plan signs approvals)'))
    .addOption(outputOption())
    .action(action(startCommand));
}

/**
 * What the rollout answered: started, or refused (preflight: exit 2, bad input; a held cluster: exit 1),
 * or nothing in time (no worker).
 */
async function outcome(update: Promise<StartedResult>, ms: number): Promise<StartedResult | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), ms)));
  update.catch(() => undefined); // settled below, or abandoned when no worker answers in time
  try {
    return await Promise.race([update, timeout]);
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure) {
      const code = cause.type === FailureType.PreflightFailed ? exitCodes.usage : exitCodes.failed;
      throw new CliError(`refused: ${cause.message}`, code);
    }
    throw new CliError(`the rollout did not say whether it started: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Fails early, naming the holder, when another running rollout holds one of the clusters. The rollout
 * workflow takes the locks itself (atomically); this check only gives a person the answer before starting.
 */
async function refuseHeldClusters(client: Client, taskQueue: string, clusters: string[]): Promise<void> {
  const held = await findHeldClusters(client, lockRegistryId(taskQueue), clusters);
  if (held.length > 0) throw new CliError(heldMessage(groupByHolder(held)));
}

/** Refuses, before starting, a chart version marked bad or a start under a freeze (the rollout checks too). */
async function refuseByRegistry(
  client: Client,
  registryId: string,
  plan: string,
  rolls: (chart: string, version: string) => unknown,
): Promise<void> {
  const registry = await readRegistry(client, registryId);
  const bad = registry.denied.find((d) => rolls(d.chart, d.version));
  if (bad) throw new CliError(`refused: ${bad.chart} ${bad.version} was marked bad by ${bad.by} (${bad.reason})`);
  const freeze = registry.freezes.find((f) => f.plan === '*' || f.plan === plan);
  if (freeze) {
    const scope = freeze.plan === '*' ? 'everything' : `plan ${plan}`;
    throw new CliError(`refused: ${scope} is frozen by ${freeze.by} (${freeze.reason}); rollout unfreeze lifts it`);
  }
}

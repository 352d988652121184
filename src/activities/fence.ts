/**
 * The fence of a rollout's stop words, checked by every mutating step right before it changes anything:
 * once an abort or a rollback is accepted, no upgrade or synchronizer Job starts on any cluster; once a
 * pause, a freeze or a bad-version mark is, no cluster's first change starts (clusters in flight finish).
 * The rollout records each of these in its status in the same workflow task that accepts it, so a step
 * that asks afterwards sees it; one that began before was already running, and the stop cancels it.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { MessageName } from '../domain/names.js';
import type { RolloutStatus } from '../domain/types.js';
import type { Activities } from './contracts.js';

/** What a mutating step tells the fence: its rollout, and whether it is the first change of a cluster. */
export interface FenceInput {
  cluster: string;
  rolloutId: string;
  opensCluster?: boolean;
}

/** Why the step may not start now, or undefined when it may. */
export function fencedBy(status: Pick<RolloutStatus, 'stopping' | 'paused' | 'frozen'>, opensCluster?: boolean) {
  if (status.stopping) return `the rollout is stopping (${status.stopping} accepted)`;
  if (opensCluster && status.frozen) return `the rollout is frozen (${status.frozen})`;
  if (opensCluster && status.paused) return 'the rollout is paused';
  return undefined;
}

/** Asks the rollout (its `fence` query) whether the step may start; throws a non-retryable Fenced if not. */
export function createFence(client: Client): (input: FenceInput) => Promise<void> {
  return async (input) => {
    let status: Pick<RolloutStatus, 'stopping' | 'paused' | 'frozen'>;
    try {
      // The fence query answers a few bytes; the whole status of a large rollout is hundreds of kilobytes.
      status = await client.workflow.getHandle(input.rolloutId).query(MessageName.Fence);
    } catch (err) {
      // A step run outside any rollout (an operator's one-off, a test) has no fence to keep.
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
    const why = fencedBy(status, input.opensCluster);
    if (why) {
      throw ApplicationFailure.nonRetryable(
        `not started on ${input.cluster}: ${why}; nothing was changed`,
        FailureType.Fenced,
      );
    }
  };
}

type Mutating = Pick<Activities, 'upgradeRelease' | 'runSynchronizerJob'>;

/** The activities with their mutating steps behind the fence. */
export function withFence<A extends Mutating>(activities: A, fence: (input: FenceInput) => Promise<void>): A {
  return {
    ...activities,
    upgradeRelease: async (input) => {
      await fence(input);
      return activities.upgradeRelease(input);
    },
    runSynchronizerJob: async (input) => {
      await fence(input);
      return activities.runSynchronizerJob(input);
    },
  };
}

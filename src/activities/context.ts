import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { durationMs } from '../plan/duration.js';
import type { ActivityHeartbeat } from './contracts.js';
import { Unreachable } from '../adapters/errors.js';

/**
 * What an adapter's long command runs under: the current activity's heartbeat and cancellation, or
 * nothing outside an activity (tests read `helm history` with the same adapter). Activities use
 * Context.current(); benchmarks and tests run them under the SDK's MockActivityEnvironment.
 */
export function activityRunContext(): { heartbeat?: () => void; signal?: AbortSignal } {
  try {
    return { heartbeat: beat, signal: Context.current().cancellationSignal };
  } catch {
    return {};
  }
}

/** What each activity last reported, sent with every heartbeat so that a later heartbeat never erases it. */
const reports = new WeakMap<Context, ActivityHeartbeat>();

/** Heartbeats with the activity's current report (see `ActivityHeartbeat`). */
export function beat(): void {
  const ctx = Context.current();
  ctx.heartbeat(reports.get(ctx) ?? {});
}

function report(update: Partial<ActivityHeartbeat>): void {
  const ctx = Context.current();
  const next = { ...reports.get(ctx), ...update };
  if (update.unreachable === undefined) delete next.unreachable;
  reports.set(ctx, next);
  ctx.heartbeat(next);
}

/** Says, with the next heartbeat, what the step waits on (`rollout status` shows it); undefined clears it. */
export function waitingOn(what: string | undefined): void {
  const ctx = Context.current();
  const next = { ...reports.get(ctx), waiting: what };
  if (what === undefined) delete next.waiting;
  reports.set(ctx, next);
  ctx.heartbeat(next);
}

/**
 * When a step must be over: its timeout counted from when the activity was first scheduled, so a retry
 * after a crash or an outage does not grant the step a fresh timeout.
 */
export function stepDeadline(timeout: string): number {
  return Context.current().info.scheduledTimestampMs + durationMs(timeout);
}

/**
 * Runs a step of an activity on one cluster while heartbeating every second (so a worker that dies is
 * noticed within the heartbeat timeout, and a cancellation reaches the step within about a second). When the cluster does not answer
 * (`Unreachable`), the whole step runs again after a capped backoff (1 s doubling to 15 s), and the
 * heartbeat says since when the cluster is unreachable, which `rollout status` shows; every step is
 * idempotent, so running it again is safe. The last try is at the deadline; if it fails too, the step
 * fails with ClusterUnreachable.
 * Failures that are final (invalid, forbidden, not found) pass through at once.
 */
export function clusterStep<T>(
  target: { cluster: string; context: string },
  deadline: number,
  run: () => Promise<T>,
): Promise<T> {
  return untilReachable(`${target.cluster} (context ${target.context})`, deadline, run, target.cluster);
}

/**
 * `phased_rollout_unreachable_clusters{cluster}`: 1 while a step on this worker waits for the cluster to
 * answer, 0 once it answers or the step ends (the SDK adds the activity type, namespace and task queue).
 * Sum it over workers for the fleet; alert on it, as `rollout status` says it per rollout.
 */
function unreachableGauge(ctx: Context, cluster: string, value: 0 | 1): void {
  ctx.metricMeter
    .createGauge(
      'phased_rollout_unreachable_clusters',
      'int',
      '1',
      'A cluster a step is waiting on does not answer (1)',
    )
    .set(value, { cluster });
}

/** `clusterStep` for any peer: `what` names it in the failure (a cluster, a chart repository). */
export async function untilReachable<T>(
  what: string,
  deadline: number,
  run: () => Promise<T>,
  /** The cluster it is, for the unreachable-clusters metric; unset for another peer. */
  cluster?: string,
): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(beat, 1_000);
  let since: string | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await run();
        if (since) report({ unreachable: undefined });
        return result;
      } catch (err) {
        if (!(err instanceof Unreachable) || ctx.cancellationSignal.aborted) throw err;
        if (since === undefined && cluster !== undefined) unreachableGauge(ctx, cluster, 1);
        since ??= new Date().toISOString();
        // The last try is at the deadline itself: a backoff that would pass it is cut short, not skipped.
        const left = deadline - Date.now();
        if (left <= 0) {
          throw ApplicationFailure.nonRetryable(
            `${what} unreachable since ${since}, ${attempt} attempts until the step's timeout: ${err.message}`,
            FailureType.ClusterUnreachable,
          );
        }
        report({ unreachable: { since, attempts: attempt, error: err.message, what } });
        ctx.log.warn('unreachable; retrying', { what, attempt, error: err.message });
        await ctx.sleep(Math.min(15_000, 1_000 * 2 ** (attempt - 1), left));
      }
    }
  } finally {
    clearInterval(timer);
    if (since !== undefined && cluster !== undefined) unreachableGauge(ctx, cluster, 0);
  }
}

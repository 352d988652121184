import {
  ActivityCancellationType,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/contracts.js';
import { durationMs } from '../plan/duration.js';

/**
 * Activity proxies per kind of step. An activity enforces its own deadline (its step's timeout, counted
 * from when it was first scheduled) and retries an unreachable cluster within it, reporting a clear,
 * non-retryable failure at the end. Temporal retries everything else that is retryable (a worker that
 * died, a conflict) with capped backoff, as often as fits before schedule-to-close, which is that deadline
 * plus a margin: a number of attempts would let a short outage decide a release.
 * Heartbeats let a restarted worker take over a long wait within seconds instead of a whole timeout.
 */
const retry: ActivityOptions['retry'] = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '15s',
};

/**
 * A cluster's steps. A cancelled step (abort, rollback) is waited for until the activity has stopped (its
 * Helm process killed), so that restoring the cluster never races an upgrade still running.
 */
export function activitiesFor(deadline: string, activityId?: string): Activities {
  const ms = durationMs(deadline);
  return proxyActivities<Activities>({
    startToCloseTimeout: ms + 60_000,
    scheduleToCloseTimeout: ms + 120_000,
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
    ...(activityId ? { activityId } : {}),
  });
}

/** Bookkeeping calls that touch no cluster: the registries, signatures, cluster workflows' steps. */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '5m',
  retry,
});

/** How long diffing a set of clusters may take: 5 minutes, or 2 s per cluster for large sets. */
export function diffDeadline(clusters: number): string {
  return `${Math.max(300, clusters * 2)}s`;
}

/**
 * A quick step's first try, as a local activity: the worker runs it inside the workflow task that
 * reached the step, with no trip through the server's task queue and no workflow task of its own
 * afterwards. One attempt, bounded by `quickTry` (the activity's own deadline is that, too): a quick
 * step that is not quick (an unreachable cluster, a slow API server) is handed to the regular activity.
 * Short, because the workflow task stays open while it runs: the rollout, which takes the snapshots,
 * answers `status` and controls only once its task is done.
 */
const quickTry = '2s';
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '4s',
  retry: { maximumAttempts: 1 },
});

/**
 * Runs a quick, idempotent step (a read, a delete) locally first, and on anything but success (a
 * failure, a timeout, an unreachable cluster) as the regular activity, which owns what a long step needs:
 * retries within the step's timeout, heartbeats (`rollout status` shows an unreachable cluster) and the
 * failure's report. `run` gets the activities to call and the timeout to give the step.
 */
export async function quickFirst<T>(
  timeout: string,
  run: (a: Activities, timeout: string) => Promise<T>,
  activityId?: string,
): Promise<T> {
  try {
    return await run(local, quickTry);
  } catch (err) {
    if (isCancellation(err)) throw err;
    return regularOnly(timeout, run, activityId);
  }
}

/**
 * `quickFirst`'s signature without the local try: the step as the regular activity only, with
 * `activityId` when given (so `rollout status` can tell whose step a rollout's own activity is).
 */
function regularOnly<T>(
  timeout: string,
  run: (a: Activities, timeout: string) => Promise<T>,
  activityId?: string,
): Promise<T> {
  return run(activitiesFor(timeout, activityId), timeout);
}

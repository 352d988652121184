import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/contracts.js';
import { durationMs } from '../plan/duration.js';

/**
 * Activity proxies per kind of step. An activity enforces its own deadline (and reports a clear,
 * non-retryable timeout); startToClose is that deadline plus a margin, so a hung worker is still caught.
 * Heartbeats let a restarted worker take over a long wait within seconds instead of a whole timeout.
 */
const retry: ActivityOptions['retry'] = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 5,
};

export function activitiesFor(deadline: string, opts: { heartbeat?: boolean } = {}): Activities {
  return proxyActivities<Activities>({
    startToCloseTimeout: durationMs(deadline) + 60_000,
    heartbeatTimeout: opts.heartbeat === false ? undefined : '30s',
    retry,
  });
}

/** Quick bookkeeping calls: snapshot, cleanup, lock lookups. */
export const quick = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry });

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/contracts.js';
import type { RolloutEvent } from '../domain/notifications.js';
import type { NotificationSink } from '../plan/schema.js';

/** Delivery keeps trying a sink that is down for an hour, backing off to a minute between attempts. */
const deliver = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
}).deliverNotification;

/**
 * Delivers one event to its sinks, at least once each. Started by the rollout with an ID derived from
 * the event (so a replay or a crash never starts a second one) and abandoned by it: the rollout neither
 * waits for delivery nor fails with it. Returns, per sink, the HTTP status or why it gave up.
 */
export async function notification(input: {
  sinks: NotificationSink[];
  event: RolloutEvent;
}): Promise<Record<string, string>> {
  const results = await Promise.allSettled(input.sinks.map((sink) => deliver({ sink, event: input.event })));
  return Object.fromEntries(
    results.map((r, i) => [
      input.sinks[i]?.name ?? String(i),
      r.status === 'fulfilled' ? `HTTP ${r.value.status}` : `not delivered: ${(r.reason as Error).message}`,
    ]),
  );
}

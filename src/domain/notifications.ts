import { diffLines } from './diff.js';
import type { NotificationEvent } from './notification-events.js';
import type { ReleaseDiff, RolloutStatus } from './types.js';

/** One thing that happened, as every sink receives it. `id` is stable: a redelivery carries the same one. */
export interface RolloutEvent {
  /** `<rollout ID>/<n>`: the rollout's n-th notification; receivers drop duplicates by it. */
  id: string;
  type: NotificationEvent;
  rollout: string;
  plan: string;
  chartVersion: string;
  /** Every component's version, by name. */
  versions: Record<string, string>;
  at: string;
  /** The phase or cluster it is about, if any. */
  phase?: string;
  cluster?: string;
  /** One line for people. */
  summary: string;
  /** For approval-needed: the phase's diff, in a few lines, with its digest. */
  diff?: string[];
}

/**
 * An event's ID: the rollout, its run and the event's ordinal in that run. Unique per run (a rollout
 * started again under the same ID sends other events), and the same on every redelivery of one event, so
 * a receiver can drop duplicates by it.
 */
export function eventId(status: Pick<RolloutStatus, 'id' | 'runId'>, n: number): string {
  return `${status.id}/${status.runId ?? 'run'}/${n}`;
}

/** The workflow that delivers an event: unique per run, so one run's delivery never blocks another's. */
export function notificationWorkflowId(status: Pick<RolloutStatus, 'id' | 'runId'>, n: number): string {
  return `${status.id}:notify:${status.runId ?? 'run'}:${n}`;
}

/** Builds an event of the rollout's; `n` is its ordinal among the run's notifications. */
export function rolloutEvent(
  status: RolloutStatus,
  n: number,
  at: string,
  e: { type: NotificationEvent; summary: string; phase?: string; cluster?: string; diff?: ReleaseDiff },
): RolloutEvent {
  return {
    id: eventId(status, n),
    type: e.type,
    rollout: status.id,
    plan: status.plan,
    chartVersion: status.chartVersion,
    versions: status.versions,
    at,
    ...(e.phase ? { phase: e.phase } : {}),
    ...(e.cluster ? { cluster: e.cluster } : {}),
    summary: e.summary,
    ...(e.diff ? { diff: diffLines(e.diff) } : {}),
  };
}

/**
 * Delivers a rollout's notifications to the sinks the plan names: a generic JSON webhook (CloudEvents 1.0,
 * structured mode) or a Slack incoming webhook. A sink's URL is a secret: it is read here, on the worker,
 * from the environment variable or file the plan names, and appears in no input, result, error or log.
 */
import { readFile } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { RolloutEvent } from '../domain/notifications.js';
import type { NotificationSink } from '../plan/schema.js';
import { isTransientStatus } from './errors.js';

/** The running activity's cancellation, or a signal that never fires when called outside one (tests). */
function cancellation(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal;
  }
}

/** The CloudEvents 1.0 structured-mode envelope of an event (https://cloudevents.io). */
export function cloudEvent(event: RolloutEvent): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: event.id,
    source: `phased-rollout/${encodeURIComponent(event.rollout)}`,
    type: `dev.phased-rollout.${event.type}`,
    subject: event.cluster ?? event.phase ?? event.rollout,
    time: event.at,
    datacontenttype: 'application/json',
    data: event,
  };
}

/** A Slack incoming webhook's message: one line, the diff summary under it for approvals. */
export function slackMessage(event: RolloutEvent): { text: string } {
  const lines = [`*${event.type}* ${event.rollout} (${event.plan}, chart ${event.chartVersion}): ${event.summary}`];
  if (event.diff) lines.push(...event.diff.map((l) => `> ${l}`));
  return { text: lines.join('\n') };
}

export function createNotificationActivities(deps: { env?: NodeJS.ProcessEnv } = {}) {
  const env = deps.env ?? process.env;

  async function urlOf(sink: NotificationSink): Promise<string> {
    const from = sink.urlFrom;
    const where = from.env ? `environment variable ${from.env}` : `file ${from.file}`;
    let url: string | undefined;
    try {
      url = from.env ? env[from.env] : (await readFile(from.file ?? '', 'utf8')).trim();
    } catch {
      url = undefined;
    }
    if (!url) {
      throw ApplicationFailure.nonRetryable(
        `sink ${sink.name}: no URL in ${where} on this worker`,
        FailureType.NotificationSink,
      );
    }
    return url;
  }

  return {
    /**
     * Posts one event to one sink. A sink that does not answer, or answers 5xx/429, is retried by Temporal;
     * any other refusal is final. Errors name the sink, never its URL.
     */
    async deliverNotification(input: { sink: NotificationSink; event: RolloutEvent }): Promise<{ status: number }> {
      const { sink, event } = input;
      const url = await urlOf(sink);
      const body = sink.type === 'slack' ? slackMessage(event) : cloudEvent(event);
      const contentType = sink.type === 'slack' ? 'application/json' : 'application/cloudevents+json';
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: JSON.stringify(body),
          // Gives up after 10 s, or at once when the activity is cancelled (the worker shuts down): then
          // Temporal delivers it again, on this worker or another, rather than the shutdown waiting on a sink.
          signal: AbortSignal.any([AbortSignal.timeout(10_000), cancellation()]),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw new Error(`sink ${sink.name} did not answer (${cause})`);
      }
      await res.body?.cancel();
      if (res.ok) return { status: res.status };
      const message = `sink ${sink.name} answered HTTP ${res.status} to event ${event.id}`;
      if (isTransientStatus(res.status)) throw new Error(message);
      throw ApplicationFailure.nonRetryable(message, FailureType.NotificationSink);
    },
  };
}

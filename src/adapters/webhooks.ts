/**
 * Delivers a rollout's notifications to the sinks the plan names: a generic JSON webhook (CloudEvents 1.0,
 * structured mode) or a Slack incoming webhook. A sink's URL is a secret: it is read here, on the worker,
 * from the environment variable (ROLLOUT_SINK_*) or the file in the worker's sink URL folder the plan
 * names, and appears in no input, result, error or log.
 */
import { readFile } from 'node:fs/promises';
import { Credentials } from './credentials.js';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { RolloutEvent } from '../domain/notifications.js';
import { sinkUrlEnvPrefix, type NotificationSink } from '../plan/schema.js';
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

/**
 * Where a sink's URL is read: a ROLLOUT_SINK_* variable, or a file name inside the worker's sink URL folder
 * (resolved through its symlinks, refused when it leaves the folder). The plan's schema allows only these;
 * they are checked again here, where the reading happens, for inputs that did not come through it.
 */
export function createSinkUrls(deps: { env?: NodeJS.ProcessEnv; credentials?: Credentials } = {}) {
  const env = deps.env ?? process.env;
  const credentials = deps.credentials ?? Credentials.none(env);
  return async function urlOf(sink: NotificationSink): Promise<string> {
    const from = sink.urlFrom;
    let url: string | undefined;
    let where: string;
    try {
      if (from.env !== undefined) {
        where = `environment variable ${from.env}`;
        if (!from.env.startsWith(sinkUrlEnvPrefix))
          throw new Error(`sink ${sink.name}: ${where} is not a ${sinkUrlEnvPrefix} variable`);
        url = env[from.env];
      } else {
        where = `file ${from.file} of the sink URL folder`;
        url = (await readFile(await credentials.sinkUrlFile(sink.name, from.file ?? ''), 'utf8')).trim();
      }
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.NotificationSink);
    }
    if (!url) {
      throw ApplicationFailure.nonRetryable(
        `sink ${sink.name}: no URL in ${where} on this worker`,
        FailureType.NotificationSink,
      );
    }
    return url;
  };
}

export function createNotificationActivities(deps: { env?: NodeJS.ProcessEnv; credentials?: Credentials } = {}) {
  const urlOf = createSinkUrls(deps);

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

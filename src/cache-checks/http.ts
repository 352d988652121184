import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { CacheCheck, CacheCheckSpec, Observation } from './check.js';

/** An HTTP endpoint that must answer with a status (and, if given, a body containing a text). */
export interface HttpExpectation {
  url: string;
  expectStatus: number;
  bodyContains?: string;
}

/** Asks the endpoint once (5 s at most): whether the status and the body are as expected, and the answer. */
async function ask(check: HttpExpectation, signal?: AbortSignal): Promise<{ ready: boolean; answer: string }> {
  try {
    const res = await fetch(check.url, {
      signal: AbortSignal.any([AbortSignal.timeout(5_000), ...(signal ? [signal] : [])]),
    });
    const body = await res.text();
    const bodyOk = check.bodyContains === undefined || body.includes(check.bodyContains);
    const answer = `HTTP ${res.status}${bodyOk ? '' : ` without "${check.bodyContains}"`}`;
    return { ready: res.status === check.expectStatus && bodyOk, answer };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { ready: false, answer: (err as Error).message };
  }
}

/** One look at the endpoint: ready when it answers with the status (and body text) expected. */
export async function probeHttp(check: HttpExpectation, signal?: AbortSignal): Promise<Observation> {
  const { ready, answer } = await ask(check, signal);
  return { ready, observed: `${check.url}: ${answer}` };
}

/**
 * HTTP has no watch: the endpoint is asked every 2 seconds until it answers as expected or the deadline.
 * Returns what was observed; throws a non-retryable Timeout naming the last answer.
 */
export async function waitForHttp(check: HttpExpectation, deadline: number, signal?: AbortSignal): Promise<string> {
  for (;;) {
    const { ready, answer } = await ask(check, signal);
    if (ready) return `${check.url}: ${answer}`;
    if (Date.now() + 2_000 >= deadline) {
      const body = check.bodyContains === undefined ? '' : ` with "${check.bodyContains}"`;
      throw ApplicationFailure.nonRetryable(
        `${check.url}: expected HTTP ${check.expectStatus}${body}, last saw ${answer}`,
        FailureType.Timeout,
      );
    }
    // Ends at once when the step is cancelled (an abort), not at the next ask.
    await sleep(2_000, undefined, signal ? { signal } : undefined);
  }
}

/** The cache answers over HTTP (a readiness endpoint of the product's own). */
export const http: CacheCheck<Extract<CacheCheckSpec, { type: 'http' }>> = {
  observe: (spec, { signal }) => probeHttp(spec, signal),
  waitReady: (spec, { signal }, deadline) => waitForHttp(spec, deadline, signal),
};

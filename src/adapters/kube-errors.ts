/** How the activities read a Kubernetes API failure: final, an unreachable cluster, or worth another try. */
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { isNetworkError, isTransientStatus, Unreachable } from './errors.js';

/**
 * Classifies a Kubernetes API error: bad requests, forbidden, not found and invalid values will not heal
 * by retrying and become non-retryable failures naming what was asked; throttling, server errors and
 * network errors mean the cluster did not answer (`Unreachable`, retried until the step's deadline);
 * conflicts and anything else are plain errors, which Temporal retries.
 */
export function classify(err: unknown, what: string): Error {
  if (err instanceof ApiException) {
    const code = err.code;
    const reason = apiMessage(err);
    if ([400, 401, 403, 404, 405, 422].includes(code)) {
      return ApplicationFailure.nonRetryable(`${what}: ${code} ${reason}`, `${FailureType.KubernetesApi}${code}`);
    }
    if (isTransientStatus(code)) return new Unreachable(`${what}: ${code} ${reason}`);
    return new Error(`${what}: ${code} ${reason}`);
  }
  if (err instanceof ApplicationFailure || err instanceof Unreachable) return err;
  const message = `${what}: ${(err as Error).message ?? String(err)}`;
  return isNetworkError(err) ? new Unreachable(message) : new Error(message);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

function apiMessage(err: ApiException<unknown>): string {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? err.message;
}

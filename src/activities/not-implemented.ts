import { ApplicationFailure } from '@temporalio/common';

/**
 * Cluster work that this build cannot do yet. It fails, non-retryably and by name, rather than pretend:
 * a rollout on such a worker stops at its first cluster step with this message.
 */
export function notImplemented(activity: string): () => Promise<never> {
  return () =>
    Promise.reject(
      ApplicationFailure.nonRetryable(
        `${activity} is not implemented in this build of the worker: the Kubernetes and Helm activities are not available yet`,
        'NotImplemented',
      ),
    );
}

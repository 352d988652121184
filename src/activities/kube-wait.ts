import { ListWatch, type KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { classify } from './kube-errors.js';
import type { Kube } from './kube.js';

export interface WaitOptions<T extends KubernetesObject, R> {
  kube: Kube;
  apiVersion: string;
  kind: string;
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Returns a result when the wait is over (success), throws to fail it, or undefined to keep waiting. */
  check: (items: readonly T[]) => R | undefined;
  deadline: number;
  signal?: AbortSignal;
  /** Describes what is being waited for, for the timeout message, from the latest items seen. */
  describe: (items: readonly T[]) => string;
}

/**
 * Waits on the API server with client-node's ListWatch: a list, then a watch from its resourceVersion,
 * re-watching when a watch ends and re-listing on 410 Gone; no polling. ListWatch stops on any other
 * error; that error is classified here, so an unreachable cluster makes the whole step run again
 * (`clusterStep`) and a final answer fails it. Fails, non-retryably, at the deadline with what it last saw.
 */
export async function waitForObjects<T extends KubernetesObject, R>(opts: WaitOptions<T, R>): Promise<R> {
  const { kube, deadline, signal } = opts;
  const where = `${opts.kind} in ${kube.context}`;
  const path = await kube.objects.collectionPath(opts.apiVersion, opts.kind, opts.namespace).catch((err: unknown) => {
    throw classify(err, `discover ${where}`);
  });
  const list = () =>
    kube.objects
      .list<T>(
        opts.apiVersion,
        opts.kind,
        opts.namespace,
        undefined,
        undefined,
        undefined,
        opts.fieldSelector,
        opts.labelSelector,
      )
      .catch((err: unknown) => {
        throw classify(err, `list ${where}`);
      });
  const cache = new ListWatch<T>(path, kube.watch, list, false, opts.labelSelector, opts.fieldSelector);
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: { done: R } | { failed: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void cache.stop();
      if ('done' in outcome) resolve(outcome.done);
      else reject(outcome.failed instanceof Error ? outcome.failed : new Error(String(outcome.failed)));
    };
    const evaluate = () => {
      if (settled) return;
      try {
        const done = opts.check(cache.list());
        if (done !== undefined) finish({ done });
      } catch (err) {
        finish({ failed: err });
      }
    };
    const onAbort = () => finish({ failed: signal?.reason ?? new Error('cancelled') });
    const timer = setTimeout(
      () =>
        finish({
          failed: ApplicationFailure.nonRetryable(
            `timed out waiting for ${opts.describe(cache.list())}`,
            FailureType.Timeout,
          ),
        }),
      Math.max(0, deadline - Date.now()),
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    cache.on('change', evaluate);
    cache.on('error', (err: unknown) => finish({ failed: classify(err, `watch ${where}`) }));
    // A wait settled by the initial list must still close the watch that start() opens after it.
    cache.start().then(
      () => (settled ? void cache.stop() : evaluate()),
      (err: unknown) => finish({ failed: classify(err, `watch ${where}`) }),
    );
  });
}

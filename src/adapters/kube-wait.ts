import { ListWatch, type KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { classify } from './kube-errors.js';
import { onAbort, Unreachable } from './errors.js';
import type { Kube } from './kube.js';

/**
 * A watch that hears nothing for this long asks the API server whether it still answers (`/version`,
 * within `probeTimeoutMs`): a quiet object is fine, a frozen server (connections accepted, nothing
 * answered) is not, and without the question the wait would sit silent until the step's deadline.
 */
export const silence = { afterMs: 30_000, probeTimeoutMs: 10_000 };

/** How long past its deadline a wait still waits for its first list, so it always looks once. */
const firstLookMs = 10_000;

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
 * (`clusterStep`) and a final answer fails it. A wait that hears nothing for `silence.afterMs` asks the
 * server whether it answers at all, and is `Unreachable` when it does not, so the step runs again with a
 * fresh list and watch and `status` says the cluster is not answering. Fails, non-retryably, at the
 * deadline with what it last saw; it always takes its first look, even when it starts past the deadline.
 */
export async function waitForObjects<T extends KubernetesObject, R>(opts: WaitOptions<T, R>): Promise<R> {
  const { kube, deadline, signal } = opts;
  const where = `${opts.kind} in ${kube.context}`;
  const started = Date.now();
  const path = await new Promise<string>((resolve, reject) => {
    const stop = watchdog(kube, where, () => started, reject);
    kube.objects
      .collectionPath(opts.apiVersion, opts.kind, opts.namespace)
      .then(resolve, (err: unknown) => reject(classify(err, `discover ${where}`)))
      .finally(stop);
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
      .then((listed) => {
        firstLook(listed.items);
        return listed;
      })
      .catch((err: unknown) => {
        throw classify(err, `list ${where}`);
      });
  let firstLook: (items: readonly T[]) => void = () => undefined;
  const cache = new ListWatch<T>(path, kube.watch, list, false, opts.labelSelector, opts.fieldSelector);
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    let heard = Date.now();
    const finish = (outcome: { done: R } | { failed: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      stopWatchdog();
      stopListening();
      void cache.stop();
      if ('done' in outcome) resolve(outcome.done);
      else reject(outcome.failed instanceof Error ? outcome.failed : new Error(String(outcome.failed)));
    };
    const evaluate = () => {
      heard = Date.now();
      if (settled) return;
      try {
        const done = opts.check(cache.list());
        if (done !== undefined) finish({ done });
      } catch (err) {
        finish({ failed: err });
      }
    };
    const cancelled = () => finish({ failed: signal?.reason ?? new Error('cancelled') });
    let stopListening = () => undefined as void;
    const timedOut = (note = '', items: readonly T[] = cache.list()) =>
      finish({
        failed: ApplicationFailure.nonRetryable(
          `timed out waiting for ${opts.describe(items)}${note}`,
          FailureType.Timeout,
        ),
      });
    // The wait always takes its first look: a retry that starts at or past the deadline (its worker died
    // while the step's time ran) still lists once, and ends on what it sees, not on an empty cache.
    let listed = false;
    let overdue = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(
      () => {
        if (listed) return timedOut();
        overdue = true;
        graceTimer = setTimeout(() => timedOut(' (the API server had not answered its first list)'), firstLookMs);
      },
      Math.max(0, deadline - Date.now()),
    );
    const stopWatchdog = watchdog(
      kube,
      where,
      () => heard,
      (failed) => finish({ failed }),
      () => (heard = Date.now()),
    );
    if (signal?.aborted) return cancelled();
    stopListening = onAbort(signal, cancelled);
    cache.on('change', evaluate);
    cache.on('error', (err: unknown) => finish({ failed: classify(err, `watch ${where}`) }));
    // A wait settled by the initial list must still close the watch that start() opens after it.
    firstLook = (items) => {
      listed = true;
      if (settled) return;
      try {
        const done = opts.check(items);
        if (done !== undefined) return finish({ done });
      } catch (err) {
        return finish({ failed: err });
      }
      if (overdue) timedOut('', items);
    };
    cache.start().then(
      () => (settled ? void cache.stop() : evaluate()),
      (err: unknown) => finish({ failed: classify(err, `watch ${where}`) }),
    );
  });
}

/**
 * Every third of `silence.afterMs`: when nothing was heard for `silence.afterMs` (`lastHeard`), asks the
 * server whether it answers at all; `fail` with `Unreachable` when it does not, `answered` when it does.
 * Returns the function that stops it.
 */
function watchdog(
  kube: Kube,
  where: string,
  lastHeard: () => number,
  fail: (err: Unreachable) => void,
  answered: () => void = () => undefined,
): () => void {
  let asking = false;
  const timer = setInterval(() => {
    if (asking || Date.now() - lastHeard() < silence.afterMs) return;
    asking = true;
    const quiet = Math.round((Date.now() - lastHeard()) / 1000);
    kube.objects
      .ping(silence.probeTimeoutMs)
      .then(answered, (err: unknown) =>
        fail(new Unreachable(`${where}: not answering (nothing heard for ${quiet} s, and ${(err as Error).message})`)),
      )
      .finally(() => (asking = false));
  }, silence.afterMs / 3);
  return () => clearInterval(timer);
}

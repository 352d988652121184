import type { KubernetesObject } from '@kubernetes/client-node';
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
  check: (items: T[]) => R | undefined;
  deadline: number;
  signal?: AbortSignal;
  /** Describes what is being waited for, for the timeout message, from the latest items seen. */
  describe: (items: T[]) => string;
}

/**
 * Waits on the API server with a list then a watch from its resourceVersion: no polling. When a watch
 * ends or expires (410 Gone), it lists again and resumes. Fails, non-retryably, at the deadline with
 * what it last saw.
 */
export async function waitForObjects<T extends KubernetesObject, R>(opts: WaitOptions<T, R>): Promise<R> {
  const { kube, deadline, signal } = opts;
  const path = await kube.objects.collectionPath(opts.apiVersion, opts.kind, opts.namespace).catch((err: unknown) => {
    throw classify(err, `discover ${opts.kind} in ${kube.context}`);
  });
  const items = new Map<string, T>();
  const key = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  for (;;) {
    if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
    if (Date.now() >= deadline) {
      throw ApplicationFailure.nonRetryable(
        `timed out waiting for ${opts.describe([...items.values()])}`,
        FailureType.Timeout,
      );
    }
    let list: { items: T[]; metadata?: { resourceVersion?: string } };
    try {
      list = await kube.objects.list<T>(
        opts.apiVersion,
        opts.kind,
        opts.namespace,
        undefined,
        undefined,
        undefined,
        opts.fieldSelector,
        opts.labelSelector,
      );
    } catch (err) {
      throw classify(err, `list ${opts.kind} in ${kube.context}`);
    }
    items.clear();
    for (const o of list.items) items.set(key(o), o);
    const first = opts.check([...items.values()]);
    if (first !== undefined) return first;

    const outcome = await new Promise<{ done: R } | { relist: true }>((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      const finish = (v: { done: R } | { relist: true } | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        controller?.abort();
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
      signal?.addEventListener('abort', onAbort);
      const timer = setTimeout(() => finish({ relist: true }), Math.max(0, deadline - Date.now()));
      kube.watch
        .watch(
          path,
          {
            resourceVersion: list.metadata?.resourceVersion,
            allowWatchBookmarks: true,
            fieldSelector: opts.fieldSelector,
            labelSelector: opts.labelSelector,
            timeoutSeconds: 300,
          },
          (type, obj: T) => {
            if (type === 'BOOKMARK') return;
            if (type === 'ERROR') return finish({ relist: true });
            if (type === 'DELETED') items.delete(key(obj));
            else items.set(key(obj), obj);
            try {
              const r = opts.check([...items.values()]);
              if (r !== undefined) finish({ done: r });
            } catch (err) {
              finish(err as Error);
            }
          },
          () => finish({ relist: true }),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          () => finish({ relist: true }),
        );
    });
    if ('done' in outcome) return outcome.done;
  }
}

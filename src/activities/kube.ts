import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Watch,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { isNetworkError, isTransientStatus, Unreachable } from './errors.js';

/** KubernetesObjectApi that also says where a kind's collection lives, for list and watch. */
export class ObjectApi extends KubernetesObjectApi {
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.resource(apiVersion, kind);
    if (!resource) throw ApplicationFailure.nonRetryable(`unknown kind ${kind} in ${apiVersion}`, 'UnknownKind');
    const ns = resource.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
    return `${this.apiVersionPath(apiVersion)}${ns}/${resource.name}`;
  }
}

/** The clients for one kube context. */
export interface Kube {
  context: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  objects: ObjectApi;
  watch: Watch;
}

/**
 * Builds clients per kube context from the worker's kubeconfig (KUBECONFIG or ~/.kube/config). Only the
 * context's name crosses into workflows; credentials stay in this process.
 */
export function createKubeFactory(loadConfig: () => KubeConfig = defaultKubeConfig) {
  const cache = new Map<string, Kube>();
  return (context: string): Kube => {
    const hit = cache.get(context);
    if (hit) return hit;
    const kc = loadConfig();
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw ApplicationFailure.nonRetryable(
        `kube context "${context}" is not in the worker's kubeconfig (contexts: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
        'UnknownContext',
      );
    }
    kc.setCurrentContext(context);
    const kube: Kube = {
      context,
      kc,
      core: kc.makeApiClient(CoreV1Api),
      apps: kc.makeApiClient(AppsV1Api),
      batch: kc.makeApiClient(BatchV1Api),
      objects: kc.makeApiClient(ObjectApi),
      watch: new Watch(kc),
    };
    cache.set(context, kube);
    return kube;
  };
}

export type KubeFactory = ReturnType<typeof createKubeFactory>;

function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

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
      return ApplicationFailure.nonRetryable(`${what}: ${code} ${reason}`, `KubernetesApi${code}`);
    }
    if (isTransientStatus(code)) return new Unreachable(`${what}: ${code} ${reason}`);
    return new Error(`${what}: ${code} ${reason}`);
  }
  if (err instanceof ApplicationFailure || err instanceof Unreachable) return err;
  const message = `${what}: ${(err as Error).message ?? String(err)}`;
  return isNetworkError(err) ? new Unreachable(message) : new Error(message);
}

/** The pods a workload selects and the label selector that finds them (its matchLabels). */
export async function podsOf(
  kube: Kube,
  workload: { spec?: { selector?: { matchLabels?: Record<string, string> } } },
  namespace: string,
  where: string,
): Promise<{ selector: string; pods: V1Pod[] }> {
  const selector = Object.entries(workload.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await kube.core.listNamespacedPod({ namespace, labelSelector: selector }).catch((err: unknown) => {
    throw classify(err, `list pods of ${where}`);
  });
  return { selector, pods: list.items };
}

/** A pod whose Ready condition is True. */
export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
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

import {
  HttpMethod,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Watch,
  type V1Pod,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { classify } from './kube-errors.js';
import { withTimeout } from './errors.js';

/** KubernetesObjectApi that also says where a kind's collection lives, for list and watch. */
export class ObjectApi extends KubernetesObjectApi {
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.resource(apiVersion, kind);
    if (!resource)
      throw ApplicationFailure.nonRetryable(`unknown kind ${kind} in ${apiVersion}`, FailureType.UnknownKind);
    const ns = resource.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
    return `${this.apiVersionPath(apiVersion)}${ns}/${resource.name}`;
  }

  /**
   * The cluster's version and API versions, read as Helm reads them on an upgrade for `.Capabilities`:
   * every group version the server serves, and `group/version/Kind` for each of its kinds.
   */
  async capabilities(): Promise<ClusterCapabilities> {
    const [version, core, groups] = await Promise.all([
      this.getJson<{ gitVersion?: string }>('/version'),
      this.getJson<{ versions?: string[] }>('/api'),
      this.getJson<{ groups?: { versions?: { groupVersion: string }[] }[] }>('/apis'),
    ]);
    const groupVersions = [
      ...(core.versions ?? []),
      ...(groups.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion)),
    ];
    const lists = await Promise.all(
      groupVersions.map(async (gv) => {
        const list = await this.getJson<{ resources?: { name: string; kind: string; namespaced?: boolean }[] }>(
          this.apiVersionPath(gv),
        );
        // Subresources (pods/status) name their parent's kind again; Helm lists each kind once.
        return (list.resources ?? [])
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({ ...r, gvk: `${gv}/${r.kind}` }));
      }),
    );
    const kinds = lists.flat();
    if (!version.gitVersion) throw new Error('the API server did not say its version (/version has no gitVersion)');
    return {
      kubeVersion: version.gitVersion,
      apiVersions: [...new Set([...groupVersions, ...kinds.map((k) => k.gvk)])].sort(),
      clusterScoped: [...new Set(kinds.filter((k) => k.namespaced === false).map((k) => k.gvk))].sort(),
    };
  }

  /** Resolves once the API server answers `/version`; rejects when it does not within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(
      this.getJson('/version'),
      timeoutMs,
      () => new Error(`no answer to /version in ${timeoutMs / 1000} s`),
    );
  }

  /**
   * GET of an API path (with its query), parsed as the server sent it: for reads the typed clients do not
   * offer, and for objects whose typed model renames or drops fields (a CRD's `x-kubernetes-*` keys).
   */
  getPath<T>(path: string): Promise<T> {
    return this.getJson<T>(path);
  }

  /**
   * Server-side apply of `body` exactly as written, to the object at `path`. KubernetesObjectApi.patch
   * passes a known kind through its typed model, which drops every key the model spells otherwise (a CRD
   * schema's `x-kubernetes-preserve-unknown-fields` would vanish): this sends the JSON untouched.
   */
  async applyRaw(path: string, body: object, opts: { fieldManager: string; force: boolean; dryRun: boolean }) {
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json');
    request.setHeaderParam('Content-Type', 'application/apply-patch+yaml');
    request.setQueryParam('fieldManager', opts.fieldManager);
    if (opts.force) request.setQueryParam('force', 'true');
    if (opts.dryRun) request.setQueryParam('dryRun', 'All');
    request.setBody(JSON.stringify(body));
    return (await this.requestPromise(request, 'any')) as unknown;
  }

  /** JSON merge patch of the object at `path`, sent as written (for custom resources such as Argo CD's). */
  async mergePatchRaw(path: string, body: object): Promise<unknown> {
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json');
    request.setHeaderParam('Content-Type', 'application/merge-patch+json');
    request.setBody(JSON.stringify(body));
    return await this.requestPromise(request, 'any');
  }

  private async getJson<T>(path: string): Promise<T> {
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    request.setHeaderParam('Accept', 'application/json');
    return (await this.requestPromise(request, 'any')) as T;
  }
}

/** What `.Capabilities` holds in a chart's templates on an upgrade of one cluster. */
export interface ClusterCapabilities {
  /** The API server's version, e.g. v1.36.3 (helm --kube-version). */
  kubeVersion: string;
  /** Group versions and group/version/Kind, sorted (helm --api-versions). */
  apiVersions: string[];
  /** The kinds that live outside namespaces, as group/version/Kind (a diff names them without one). */
  clusterScoped: string[];
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
        FailureType.UnknownContext,
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

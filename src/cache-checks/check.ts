/**
 * A cache check: how the worker tells that a cluster's cache is ready for a version. One implementation
 * per `spec.cache.check.type`, in this folder, registered in `index.ts`; the rollout's wait and the fleet's
 * read both go through it, so they judge readiness alike.
 */
import type { CacheSpec } from '../plan/schema.js';
import type { Kube } from '../adapters/kube.js';

export type CacheCheckSpec = CacheSpec['check'];

/** Where a check looks: the cluster (its Kubernetes client) and the running activity's cancellation. */
export interface CheckScope {
  kube: Kube;
  cluster: string;
  signal?: AbortSignal;
}

/** One look at the cache: whether it is ready, and what was seen, for a person. */
export interface Observation {
  ready: boolean;
  observed: string;
}

export interface CacheCheck<S extends CacheCheckSpec> {
  /**
   * One look, now. A cluster that does not answer throws `Unreachable`; an object not there (yet) or an
   * endpoint that answers otherwise is not ready.
   */
  observe(spec: S, scope: CheckScope): Promise<Observation>;
  /**
   * Returns what was seen once the cache is ready, by a watch where the check has one; throws a
   * non-retryable Timeout naming the last observation at `deadline`.
   */
  waitReady(spec: S, scope: CheckScope, deadline: number): Promise<string>;
}

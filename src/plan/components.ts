/**
 * A release as the ordered list of components every part of the tool works from: the per-cluster pipeline,
 * snapshots and rollback, preflight, diffs, the fleet, status. The plan's shorthand (`operator` and
 * `chart`) is one such list: operator, synchronizer, chart.
 */
import type { ClusterSpec, ComponentVerify, ReleaseSpec, RolloutPlan } from './schema.js';
import { chartName } from './resolve.js';

/** One component of the release, in pipeline order. */
export interface Component {
  name: string;
  release: ReleaseSpec;
  verify: ComponentVerify;
  /** Only clusters with these labels get it; unset: every cluster. */
  matchLabels?: Record<string, string>;
  /** The synchronizer Job and the cache wait run on the cluster right before this component. */
  afterCache?: boolean;
}

/** The release's components, in the order each cluster gets them. */
export function componentsOf(plan: RolloutPlan): Component[] {
  const { release, verify, synchronizer, cache } = plan.spec;
  if (!release.components) {
    const { operator, chart } = release as Required<Pick<typeof release, 'operator' | 'chart'>>;
    return [
      { name: 'operator', release: operator, verify: { workloads: verify.operator.workloads, http: [] } },
      {
        name: 'chart',
        release: chart,
        verify: { workloads: verify.workloads, http: verify.http },
        ...(synchronizer || cache ? { afterCache: true } : {}),
      },
    ];
  }
  const list: Component[] = [];
  let cacheNext = false;
  for (const item of release.components) {
    if ('step' in item) {
      cacheNext = true;
      continue;
    }
    const { name, selector, verify: v, ...spec } = item;
    list.push({
      name,
      release: spec,
      verify: v,
      ...(selector ? { matchLabels: selector.matchLabels } : {}),
      ...(cacheNext ? { afterCache: true } : {}),
    });
    cacheNext = false;
  }
  return list;
}

/**
 * The component the rollout is named and searched by, and whose version the synchronizer, the cache and the
 * analyses are templated with: the one after the synchronizer, else the last (the shorthand's `chart`).
 */
export function primaryComponent(components: readonly Component[]): Component {
  return (components.find((c) => c.afterCache) ?? components[components.length - 1]) as Component;
}

/** The version a rollout rolls of a component: the one it was started with, else the plan's. */
export function versionOf(versions: Record<string, string>, component: Pick<Component, 'name' | 'release'>): string {
  return versions[component.name] ?? component.release.version;
}

/** The primary component's version: what the synchronizer, the cache check and the analyses are templated with. */
export function primaryVersionOf(components: readonly Component[], versions: Record<string, string>): string {
  return versionOf(versions, primaryComponent(components));
}

/** Whether a cluster gets a component (its selector's labels all match, or it has none). */
export function appliesTo(component: Pick<Component, 'matchLabels'>, labels: Record<string, string>): boolean {
  return Object.entries(component.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** A cluster's values overlay for a component: `overlays.NAME`, or with the shorthand `values`/`operatorValues`. */
export function overlayOf(cluster: Pick<ClusterSpec, 'values' | 'operatorValues' | 'overlays'>, component: string) {
  return (
    cluster.overlays?.[component] ??
    (component === 'chart' ? cluster.values : component === 'operator' ? cluster.operatorValues : undefined)
  );
}

/** Each cluster's overlays, by component: what the pipeline, preflight, diff and fleet pass on. */
export function overlaysOf(
  cluster: Pick<ClusterSpec, 'values' | 'operatorValues' | 'overlays'> | undefined,
  components: readonly Pick<Component, 'name'>[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name } of components) {
    const file = cluster ? overlayOf(cluster, name) : undefined;
    if (file) out[name] = file;
  }
  return out;
}

/** Every component's version as the plan says. */
export function planVersions(components: readonly Component[]): Record<string, string> {
  return Object.fromEntries(components.map((c) => [c.name, c.release.version]));
}

/**
 * Every component's version: the plan's, with those given at start (`--set NAME=VERSION`) over it. Names
 * that are no component of the plan are an error naming them and the components there are.
 */
export function versionsOf(
  components: readonly Component[],
  given: Record<string, string> = {},
): { versions: Record<string, string> } | { unknown: string[] } {
  const names = new Set(components.map((c) => c.name));
  const unknown = Object.keys(given).filter((n) => !names.has(n));
  if (unknown.length > 0) return { unknown };
  return { versions: { ...planVersions(components), ...given } };
}

/** "operator 1.5.0, chart 3.0.0": the versions of a rollout, in pipeline order, for people. */
export function versionsLine(components: readonly Pick<Component, 'name'>[], versions: Record<string, string>) {
  return components.map((c) => `${c.name} ${versions[c.name] ?? '?'}`).join(', ');
}

/** The component that rolls chart `chart` (its name, as `rollout deny-version` takes it) at `version`, if any. */
export function componentRolling(
  components: readonly Component[],
  versions: Record<string, string>,
  chart: string,
  version: string,
): Component | undefined {
  return components.find((c) => chartName(c.release.chart) === chart && versions[c.name] === version);
}

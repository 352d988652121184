import type { ClusterSpec, PhaseSpec, RolloutPlan } from './schema.js';

/** A phase with its clusters resolved, in rollout order. */
export interface ResolvedPhase {
  name: string;
  clusters: string[];
  approval: PhaseSpec['approval'];
  bake: string;
  maxParallel: number;
  maxFailures: number;
}

/** The clusters a phase selects: its list in the order given, or its selector's matches in plan order. */
export function phaseClusters(phase: PhaseSpec, clusters: readonly ClusterSpec[]): string[] {
  if (phase.clusters) return [...phase.clusters];
  const wanted = Object.entries(phase.selector?.matchLabels ?? {});
  return clusters.filter((c) => wanted.every(([k, v]) => c.labels[k] === v)).map((c) => c.name);
}

/** Resolves every phase of a plan that has passed validation. */
export function resolvePhases(plan: RolloutPlan): ResolvedPhase[] {
  return plan.spec.phases.map((p) => ({
    name: p.name,
    clusters: phaseClusters(p, plan.spec.clusters),
    approval: p.approval,
    bake: p.bake,
    maxParallel: p.maxParallel,
    maxFailures: p.maxFailures,
  }));
}

/** Every file a plan refers to, with where it is referenced, for the CLI to check they exist. */
export function fileReferences(plan: RolloutPlan): { path: string; file: string }[] {
  const refs: { path: string; file: string }[] = [];
  const { components } = plan.spec.release;
  const releases = components
    ? components.flatMap((c, i) => ('step' in c ? [] : [{ at: `spec.release.components[${i}]`, release: c }]))
    : (['operator', 'chart'] as const).flatMap((kind) => {
        const release = plan.spec.release[kind];
        return release ? [{ at: `spec.release.${kind}`, release }] : [];
      });
  for (const { at, release } of releases) {
    if (isLocalChart(release.chart)) refs.push({ path: `${at}.chart`, file: release.chart });
    release.values.forEach((file, i) => refs.push({ path: `${at}.values[${i}]`, file }));
  }
  const signers = plan.spec.approvals?.allowedSigners;
  if (signers) refs.push({ path: 'spec.approvals.allowedSigners', file: signers });
  const tpl = plan.spec.synchronizer?.template.file;
  if (tpl) refs.push({ path: 'spec.synchronizer.template.file', file: tpl });
  plan.spec.clusters.forEach((c, i) => {
    if (c.values) refs.push({ path: `spec.clusters[${i}].values`, file: c.values });
    if (c.operatorValues) refs.push({ path: `spec.clusters[${i}].operatorValues`, file: c.operatorValues });
    for (const [name, file] of Object.entries(c.overlays))
      refs.push({ path: `spec.clusters[${i}].overlays.${name}`, file });
  });
  return refs;
}

/** Helm treats a chart reference starting with ".", "/" as a local path; others are repo/chart or OCI. */
export function isLocalChart(chart: string): boolean {
  return chart.startsWith('.') || chart.startsWith('/');
}

/** A chart's name as `rollout deny-version` takes it: the last part of its reference (repo/x, oci://.../x, ./x). */
export function chartName(chart: string): string {
  return chart.replace(/\/+$/, '').split('/').pop() ?? chart;
}

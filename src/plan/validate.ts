import type { PlanIssue } from './errors.js';
import { jobTemplateProblem } from './job-template.js';
import { windowVerdict } from '../domain/windows.js';
import { requiredGroup } from '../domain/approvals.js';
import { isLocalChart, phaseClusters } from './resolve.js';
import { appliesTo } from './components.js';
import type { ReleaseSpec, RolloutPlan } from './schema.js';

/** Checks what types cannot: references resolve, names are unique, each cluster is in exactly one phase. */
export function semanticIssues(plan: RolloutPlan): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const { clusters, phases, synchronizer, cache } = plan.spec;

  duplicates(clusters.map((c) => c.name)).forEach((i) =>
    issues.push({ path: `spec.clusters[${i}].name`, message: `duplicate cluster name "${clusters[i]?.name}"` }),
  );
  duplicates(clusters.map((c) => c.context)).forEach((i) =>
    issues.push({
      path: `spec.clusters[${i}].context`,
      message: `context "${clusters[i]?.context}" is already used by another cluster; one cluster, one context`,
    }),
  );
  duplicates(phases.map((p) => p.name)).forEach((i) =>
    issues.push({ path: `spec.phases[${i}].name`, message: `duplicate phase name "${phases[i]?.name}"` }),
  );
  const windows = plan.spec.windows ?? [];
  duplicates(windows.map((w) => w.name)).forEach((i) =>
    issues.push({ path: `spec.windows[${i}].name`, message: `duplicate window name "${windows[i]?.name}"` }),
  );
  // A phase whose clusters can never start is a plan that cannot finish: say so now, not in a year.
  if (windows.length > 0) {
    const now = Date.now();
    phases.forEach((phase, pi) => {
      const stuck = phaseClusters(phase, clusters).find((name) => {
        const c = clusters.find((x) => x.name === name);
        const v = c ? windowVerdict(windows, c, phase.name, now) : undefined;
        return v?.open === false && v.opensAt === undefined;
      });
      if (stuck) {
        issues.push({
          path: `spec.phases[${pi}]`,
          message: `cluster "${stuck}" can never start: its deploy windows do not open within a year`,
        });
      }
    });
  }
  const templates = new Set((plan.spec.analysis?.templates ?? []).map((t) => t.name));
  plan.spec.verify.analyses.forEach((name, i) => {
    if (!templates.has(name)) {
      issues.push({
        path: `spec.verify.analyses[${i}]`,
        message: `unknown analysis "${name}"; spec.analysis.templates has ${[...templates].join(', ') || 'none'}`,
      });
    }
  });
  const groups = plan.spec.approvals?.groups ?? {};
  (plan.spec.approvals?.required ?? []).forEach((r, i) => {
    const group = requiredGroup(r);
    if (group !== undefined && !groups[group]) {
      issues.push({
        path: `spec.approvals.required[${i}]`,
        message: `unknown group "${group}"; spec.approvals.groups has ${Object.keys(groups).join(', ') || 'none'}`,
      });
    }
  });
  const sinks = plan.spec.notifications?.sinks ?? [];
  duplicates(sinks.map((s) => s.name)).forEach((i) =>
    issues.push({
      path: `spec.notifications.sinks[${i}].name`,
      message: `duplicate sink name "${sinks[i]?.name}"`,
    }),
  );

  const known = new Set(clusters.map((c) => c.name));
  const owner = new Map<string, string>();
  phases.forEach((phase, pi) => {
    phase.clusters?.forEach((name, ci) => {
      if (!known.has(name)) {
        issues.push({ path: `spec.phases[${pi}].clusters[${ci}]`, message: `unknown cluster "${name}"` });
      }
    });
    const selected = phaseClusters(phase, clusters);
    if (selected.length === 0) {
      issues.push({
        path: `spec.phases[${pi}].${phase.clusters ? 'clusters' : 'selector'}`,
        message: `phase "${phase.name}" selects no cluster`,
      });
    }
    duplicates(selected).forEach((i) =>
      issues.push({ path: `spec.phases[${pi}].clusters[${i}]`, message: `cluster "${selected[i]}" is listed twice` }),
    );
    for (const name of new Set(selected)) {
      const first = owner.get(name);
      if (first !== undefined && known.has(name)) {
        issues.push({
          path: `spec.phases[${pi}]`,
          message: `cluster "${name}" is already in phase "${first}"; a cluster belongs to one phase`,
        });
      } else owner.set(name, phase.name);
    }
  });
  clusters.forEach((c, i) => {
    if (!owner.has(c.name)) {
      issues.push({
        path: `spec.clusters[${i}]`,
        message: `cluster "${c.name}" is in no phase, so it would never roll`,
      });
    }
  });
  const inline = synchronizer?.template.inline;
  const inlineProblem = inline && jobTemplateProblem(inline);
  if (inlineProblem) issues.push({ path: 'spec.synchronizer.template.inline', message: inlineProblem });
  issues.push(...componentIssues(plan));
  issues.push(...driverIssues(plan));
  if (synchronizer && !cache) {
    issues.push({
      path: 'spec.cache',
      message: 'a synchronizer needs a cache check, to know when the cache it builds is ready',
    });
  }
  return issues;
}

/** The components' list: unique names, one synchronizer step where a component follows, overlays that name them. */
function componentIssues(plan: RolloutPlan): PlanIssue[] {
  const items = plan.spec.release.components;
  const { clusters, synchronizer, cache } = plan.spec;
  if (!items) return [];
  const issues: PlanIssue[] = [];
  const known = new Set<string>();
  items.forEach((c, i) => {
    if ('step' in c) return;
    if (known.has(c.name)) {
      issues.push({ path: `spec.release.components[${i}].name`, message: `duplicate component name "${c.name}"` });
    }
    known.add(c.name);
  });
  const steps = items.flatMap((c, i) => ('step' in c ? [i] : []));
  steps
    .slice(1)
    .forEach((i) =>
      issues.push({ path: `spec.release.components[${i}]`, message: 'the synchronizer step is placed once' }),
    );
  const at = steps[0];
  if (at !== undefined) {
    const next = items[at + 1];
    if (!next || 'step' in next) {
      issues.push({
        path: `spec.release.components[${at}]`,
        message: 'the synchronizer step goes right before the component that needs the cache',
      });
    }
    if (!synchronizer && !cache) {
      issues.push({
        path: `spec.release.components[${at}]`,
        message: 'a synchronizer step needs spec.synchronizer and spec.cache',
      });
    }
  } else if (synchronizer || cache) {
    issues.push({
      path: 'spec.release.components',
      message: `spec.${synchronizer ? 'synchronizer' : 'cache'} is set but never runs: place "- step: synchronizer" before the component that needs the cache`,
    });
  }
  items.forEach((c, i) => {
    if ('step' in c || !c.selector) return;
    if (!clusters.some((cl) => appliesTo({ matchLabels: c.selector?.matchLabels }, cl.labels))) {
      issues.push({
        path: `spec.release.components[${i}].selector`,
        message: `component "${c.name}" selects no cluster`,
      });
    }
  });
  clusters.forEach((c, i) => {
    for (const key of ['values', 'operatorValues'] as const) {
      if (c[key]) {
        issues.push({
          path: `spec.clusters[${i}].${key}`,
          message: `belongs to the operator/chart shorthand; with components, name the component in overlays (overlays.<component>)`,
        });
      }
    }
    for (const name of Object.keys(c.overlays)) {
      if (!known.has(name)) {
        issues.push({
          path: `spec.clusters[${i}].overlays.${name}`,
          message: `unknown component "${name}"; spec.release.components has ${[...known].join(', ')}`,
        });
      }
    }
  });
  return issues;
}

/** Each release's deploy mechanism has what it needs: Argo CD its control cluster and a chart it can fetch. */
function driverIssues(plan: RolloutPlan): PlanIssue[] {
  const { release } = plan.spec;
  const entries: [string, ReleaseSpec][] = release.components
    ? release.components.flatMap((c, i) =>
        'step' in c ? [] : [[`spec.release.components[${i}]`, c] as [string, ReleaseSpec]],
      )
    : [
        ...(release.operator ? [['spec.release.operator', release.operator] as [string, ReleaseSpec]] : []),
        ...(release.chart ? [['spec.release.chart', release.chart] as [string, ReleaseSpec]] : []),
      ];
  const issues: PlanIssue[] = [];
  for (const [path, r] of entries) {
    if (r.driver !== 'argocd') {
      if (r.argocd) issues.push({ path: `${path}.argocd`, message: 'is read only with driver: argocd' });
      continue;
    }
    if (!plan.spec.source?.git) {
      issues.push({
        path,
        message:
          'driver: argocd needs spec.source.git: Argo CD reads the values from the config repository at the commit the rollout is pinned to',
      });
    }
    if (!r.argocd) {
      issues.push({
        path,
        message: 'driver: argocd needs argocd.context, the kube context of the cluster Argo CD runs on',
      });
    }
    if (isLocalChart(r.chart) || (!r.repository && !r.chart.startsWith('oci://'))) {
      issues.push({
        path: `${path}.chart`,
        message: `Argo CD fetches the chart itself: name it in a chart repository (chart and repository) or as an oci:// reference, not "${r.chart}"`,
      });
    }
  }
  return issues;
}

/** Indexes of the entries that repeat an earlier one. */
function duplicates(values: readonly string[]): number[] {
  const seen = new Set<string>();
  return values.flatMap((v, i) => {
    if (seen.has(v)) return [i];
    seen.add(v);
    return [];
  });
}

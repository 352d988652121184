import type { PlanIssue } from './errors.js';
import { jobTemplateProblem } from './job-template.js';
import { windowVerdict } from '../domain/windows.js';
import { requiredGroup } from '../domain/approvals.js';
import { phaseClusters } from './resolve.js';
import type { RolloutPlan } from './schema.js';

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
  if (synchronizer && !cache) {
    issues.push({
      path: 'spec.cache',
      message: 'a synchronizer needs a cache check, to know when the cache it builds is ready',
    });
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

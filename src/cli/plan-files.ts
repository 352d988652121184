import { existsSync, readFileSync } from 'node:fs';
import { componentsOf, primaryComponent } from '../plan/components.js';
import { resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { PlanIssue } from '../plan/errors.js';
import { jobTemplateProblem } from '../plan/job-template.js';
import { fileReferences } from '../plan/resolve.js';
import type { RolloutPlan } from '../plan/schema.js';
import { renderTemplate } from '../plan/template.js';

/**
 * What can be known about the files a plan refers to without a cluster or a repository: each exists,
 * values files are YAML mappings, the synchronizer template renders to a batch/v1 Job, a local chart has
 * a Chart.yaml. The worker checks the rest (charts at their versions, rendering) before touching a cluster.
 */
export function planFileIssues(
  plan: RolloutPlan,
  baseDir: string,
  /** For a git source: the checkout's root, and how to name the repository and commit in messages. */
  repo?: { root: string; label: string },
): PlanIssue[] {
  const issues: PlanIssue[] = [];
  for (const ref of fileReferences(plan)) {
    const path = resolve(baseDir, ref.file);
    if (repo && path !== repo.root && !path.startsWith(`${repo.root}${sep}`)) {
      issues.push({ path: ref.path, message: `${ref.file} is outside the repository ${repo.label}` });
      continue;
    }
    if (!existsSync(path)) {
      const at = repo ? `in ${repo.label} (relative to spec.source.git.path)` : "(relative to the plan's folder)";
      issues.push({ path: ref.path, message: `file not found: ${ref.file} ${at}` });
      continue;
    }
    const problem = ref.path.endsWith('.chart')
      ? chartProblem(path)
      : ref.path === 'spec.synchronizer.template.file'
        ? templateProblem(plan, path)
        : ref.path === 'spec.approvals.allowedSigners'
          ? signersProblem(path)
          : valuesProblem(path);
    if (problem) issues.push({ path: ref.path, message: `${ref.file}: ${problem}` });
  }
  return issues;
}

function parsed(path: string): { value?: unknown; problem?: string } {
  try {
    return { value: parseYaml(readFileSync(path, 'utf8')) as unknown };
  } catch (err) {
    return { problem: `not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
}

function valuesProblem(path: string): string | undefined {
  const { value, problem } = parsed(path);
  if (problem) return problem;
  const isMap = value === null || value === undefined || (typeof value === 'object' && !Array.isArray(value));
  return isMap ? undefined : 'a values file must be a YAML mapping (key: value)';
}

/** An allowed-signers file: "principal key-type key" per line (comments and blank lines aside). */
function signersProblem(path: string): string | undefined {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) return 'an allowed-signers file must name at least one signer';
  const bad = lines.findIndex((l) => l.split(/\s+/).length < 3);
  return bad < 0 ? undefined : `line "${lines[bad]}" is not "principal key-type key"`;
}

function chartProblem(path: string): string | undefined {
  const chartYaml = resolve(path, 'Chart.yaml');
  if (!existsSync(chartYaml)) return 'a local chart must be a folder with a Chart.yaml';
  return parsed(chartYaml).problem;
}

/** The template rendered as for the plan's first cluster and version, then checked to be a Job. */
function templateProblem(plan: RolloutPlan, path: string): string | undefined {
  const sync = plan.spec.synchronizer;
  if (!sync) return undefined;
  const vars = {
    cluster: plan.spec.clusters[0]?.name ?? 'cluster',
    version: primaryComponent(componentsOf(plan)).release.version,
  };
  let text: string;
  try {
    text = renderTemplate(readFileSync(path, 'utf8'), { ...vars, cacheKey: renderTemplate(sync.cacheKey, vars) });
  } catch (err) {
    return (err as Error).message;
  }
  try {
    return jobTemplateProblem(parseYaml(text));
  } catch (err) {
    return `not valid YAML after templating: ${(err as Error).message.split('\n')[0]}`;
  }
}

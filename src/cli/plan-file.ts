/**
 * A plan file read as `validate`, `start`, `diff` and `fleet` read it. Its own module so that the verbs
 * that only talk to a running rollout (`status`, `watch`, the controls) do not load the plan's parser and
 * schema: the CLI starts faster on a busy machine.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatIssue, PlanError } from '../plan/errors.js';
import { parsePlan } from '../plan/load.js';
import type { PinnedSource } from '../domain/types.js';
import type { RolloutPlan } from '../plan/schema.js';
import { CliError } from './errors.js';
import { planFileIssues } from './plan-files.js';
import { pinSource } from './source.js';

export interface LoadedPlan {
  plan: RolloutPlan;
  file: string;
  baseDir: string;
  /** The plan's files pinned: the commit of its git source, or the digests of its local files. */
  source: PinnedSource;
}

/**
 * Reads, parses and validates a plan file, pins its source (see `pinSource`) and checks the files it
 * refers to there (see `planFileIssues`). Any problem becomes a CliError with exit code 2 listing all
 * issues, before anything talks to Temporal.
 */
export async function loadPlanFile(file: string): Promise<LoadedPlan> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: cannot read plan: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      2,
    );
  }
  try {
    const plan = parsePlan(text, file);
    const baseDir = dirname(resolve(file));
    const { source, filesDir, repo } = await pinSource(plan, baseDir);
    const problems = planFileIssues(plan, filesDir, repo);
    if (problems.length > 0) throw new PlanError(file, problems);
    return { plan, file, baseDir, source };
  } catch (err) {
    if (err instanceof PlanError) {
      throw new CliError(
        [`${file}: invalid rollout plan (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}):`]
          .concat(err.issues.map((i) => `  ${formatIssue(file, i)}`))
          .join('\n'),
        2,
      );
    }
    throw err;
  }
}

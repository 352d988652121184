/** One problem in a plan, located by its path and, where the YAML parser knows it, line and column. */
export interface PlanIssue {
  /** e.g. "spec.phases[2].maxParallel"; empty for the document as a whole. */
  path: string;
  message: string;
  line?: number;
  col?: number;
}

/** Every problem found in a plan, so a user fixes them all in one pass. */
export class PlanError extends Error {
  constructor(
    readonly file: string,
    readonly issues: PlanIssue[],
  ) {
    super(`${file}: invalid rollout plan:\n${issues.map((i) => `  ${formatIssue(file, i)}`).join('\n')}`);
    this.name = 'PlanError';
  }
}

export function formatIssue(file: string, issue: PlanIssue): string {
  const where = issue.line !== undefined ? `${file}:${issue.line}:${issue.col ?? 1}: ` : `${file}: `;
  return `${where}${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

/** Renders a path array as people write it: spec.phases[2].maxParallel. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const k = String(key);
    return acc ? `${acc}.${k}` : k;
  }, '');
}

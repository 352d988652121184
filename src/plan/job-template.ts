/** Why a parsed synchronizer template is not a batch/v1 Job, or undefined when it is one. */
export function jobTemplateProblem(job: unknown): string | undefined {
  if (!job || typeof job !== 'object' || Array.isArray(job)) return 'must be a YAML mapping holding a batch/v1 Job';
  const { kind, apiVersion } = job as { kind?: unknown; apiVersion?: unknown };
  if (kind !== 'Job') return `must be a batch/v1 Job, not kind ${JSON.stringify(kind ?? null)}`;
  if (apiVersion !== undefined && apiVersion !== 'batch/v1') {
    return `must be a batch/v1 Job, not apiVersion ${JSON.stringify(apiVersion)}`;
  }
  return undefined;
}

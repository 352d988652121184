import type { ClusterTarget } from '../activities/contracts.js';
import type { ClusterSnapshot } from '../domain/types.js';
import type { ReleaseSpec, VerifySpec } from '../plan/schema.js';
import { activitiesFor } from './activity-options.js';

export interface ClusterRollbackInput extends ClusterTarget {
  snapshot: ClusterSnapshot;
  operator: ReleaseSpec;
  chart: ReleaseSpec;
  verify: VerifySpec;
  /** How long each rollback step keeps retrying a cluster that does not answer (plan: onFailure.rollbackTimeout). */
  rollbackTimeout?: string;
  /** The rollout rolling back. */
  rolloutId: string;
}

/**
 * Compensation for one cluster, in reverse order of the rollout: the chart back to its snapshot revision,
 * then the operator, then verify the restored operator and chart (those there were to restore). Each step
 * retries an unreachable cluster until the rollback timeout; the rollout decides what happens if it still
 * fails.
 */
export async function clusterRollback(input: ClusterRollbackInput): Promise<void> {
  const target: ClusterTarget = { cluster: input.cluster, context: input.context };
  for (const role of ['chart', 'operator'] as const) {
    const release = input[role];
    const timeout = input.rollbackTimeout ?? release.timeout;
    const to = input.snapshot[role];
    await activitiesFor(timeout).rollbackRelease({ ...target, role, release, to, timeout, rolloutId: input.rolloutId });
  }
  const operatorWorkloads = input.verify.operator.workloads;
  if (input.snapshot.operator && operatorWorkloads !== 'none') {
    await activitiesFor(input.verify.timeout).verifyWorkloads({
      ...target,
      release: input.operator,
      verify: { ...input.verify, workloads: operatorWorkloads, http: [] },
      version: input.snapshot.operator.chartVersion,
    });
  }
  if (input.snapshot.chart) {
    await activitiesFor(input.verify.timeout).verifyWorkloads({
      ...target,
      release: input.chart,
      verify: input.verify,
      version: input.snapshot.chart.chartVersion,
    });
  }
}

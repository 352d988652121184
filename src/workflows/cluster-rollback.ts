import type { ClusterTarget } from '../activities/contracts.js';
import type { ClusterSnapshot } from '../domain/types.js';
import type { ReleaseSpec, VerifySpec } from '../plan/schema.js';
import { activitiesFor } from './activity-options.js';

export interface ClusterRollbackInput extends ClusterTarget {
  snapshot: ClusterSnapshot;
  operator: ReleaseSpec;
  chart: ReleaseSpec;
  verify: VerifySpec;
}

/**
 * Compensation for one cluster, in reverse order of the rollout: the chart back to its snapshot revision,
 * then the operator, then verify the restored chart (when there was one to restore).
 */
export async function clusterRollback(input: ClusterRollbackInput): Promise<void> {
  const target: ClusterTarget = { cluster: input.cluster, context: input.context };
  await activitiesFor(input.chart.timeout).rollbackRelease({
    ...target,
    role: 'chart',
    release: input.chart,
    to: input.snapshot.chart,
  });
  await activitiesFor(input.operator.timeout).rollbackRelease({
    ...target,
    role: 'operator',
    release: input.operator,
    to: input.snapshot.operator,
  });
  if (input.snapshot.chart) {
    await activitiesFor(input.verify.timeout).verifyWorkloads({
      ...target,
      release: input.chart,
      verify: input.verify,
      version: input.snapshot.chart.chartVersion,
    });
  }
}

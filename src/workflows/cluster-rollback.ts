import type { ClusterTarget } from '../activities/contracts.js';
import type { ClusterSnapshot, PinnedSource } from '../domain/types.js';
import type { Component } from '../plan/components.js';
import type { VerifySpec } from '../plan/schema.js';
import { activitiesFor } from './activity-options.js';
import { verifyComponent } from './cluster-rollout.js';

export interface ClusterRollbackInput extends ClusterTarget {
  snapshot: ClusterSnapshot;
  /** The release's components in the order the rollout applies them; those in the snapshot are restored. */
  components: Component[];
  verify: VerifySpec;
  /** How long each rollback step keeps retrying a cluster that does not answer (plan: onFailure.rollbackTimeout). */
  rollbackTimeout?: string;
  /** The rollout rolling back. */
  rolloutId: string;
  /** The plan's name and pinned source (Argo CD moves only Applications handed to the plan). */
  planName?: string;
  source?: PinnedSource;
}

/**
 * Compensation for one cluster, in reverse order of the rollout: each component the snapshot recorded, last
 * first, back to its snapshot revision (or removed, when it was not installed); then each restored release
 * that was there before is verified, in the rollout's order. A component already where it was is left as
 * it is. A component the cluster does not get (not in its snapshot) is never touched. Each step retries an
 * unreachable cluster until the rollback timeout; the rollout decides what happens if it still fails.
 */
export async function clusterRollback(input: ClusterRollbackInput): Promise<void> {
  const target: ClusterTarget = { cluster: input.cluster, context: input.context };
  const recorded = input.components.filter((c) => c.name in input.snapshot.releases);
  for (const c of [...recorded].reverse()) {
    const timeout = input.rollbackTimeout ?? c.release.timeout;
    const to = input.snapshot.releases[c.name] ?? null;
    await activitiesFor(timeout).rollbackRelease({
      ...target,
      component: c.name,
      release: c.release,
      to,
      timeout,
      rolloutId: input.rolloutId,
      ...(input.planName ? { plan: input.planName } : {}),
      ...(input.source ? { source: input.source } : {}),
    });
  }
  for (const c of recorded) {
    const before = input.snapshot.releases[c.name];
    const verify = before && verifyComponent(target, c, input.verify, before.chartVersion);
    if (verify) await verify();
  }
}

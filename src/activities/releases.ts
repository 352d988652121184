import type { ClusterSnapshot } from '../domain/types.js';
import { driverFor, type Drivers } from '../drivers/driver.js';
import { clusterStep, stepDeadline } from './context.js';
import type {
  RollbackReleaseInput,
  RollbackReleaseResult,
  SnapshotInput,
  UpgradeReleaseInput,
  UpgradeReleaseResult,
} from './contracts.js';

/**
 * The release steps of a cluster: snapshot, idempotent upgrade, rollback to the snapshot, each by the
 * release's deploy mechanism, retried while the cluster does not answer (`clusterStep`).
 */
export function createReleaseActivities(deps: { drivers: Drivers }) {
  return {
    snapshotCluster: (input: SnapshotInput): Promise<ClusterSnapshot> =>
      clusterStep(input, stepDeadline(input.timeout), async () => {
        const releases: ClusterSnapshot['releases'] = {};
        for (const { component, release } of input.releases) {
          releases[component] = await driverFor(deps.drivers, release).snapshot({
            cluster: input.cluster,
            context: input.context,
            release,
          });
        }
        return { releases, takenAt: new Date().toISOString() };
      }),

    upgradeRelease: (input: UpgradeReleaseInput): Promise<UpgradeReleaseResult> =>
      clusterStep(input, stepDeadline(input.release.timeout), () =>
        driverFor(deps.drivers, input.release).upgrade(input),
      ),

    rollbackRelease: (input: RollbackReleaseInput): Promise<RollbackReleaseResult> =>
      clusterStep(input, stepDeadline(input.timeout), () => driverFor(deps.drivers, input.release).rollback(input)),
  };
}

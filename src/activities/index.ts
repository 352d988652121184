import type { Client } from '@temporalio/client';
import type { Activities } from './contracts.js';
import { createLockActivities } from './locks.js';
import { notImplemented } from './not-implemented.js';

export interface ActivityDeps {
  /** Temporal client, for looking up which rollout holds a cluster lock. */
  temporal: Client;
}

/** The worker's real activities, built from their dependencies (the composition root passes real ones). */
export function createActivities(deps: ActivityDeps): Activities {
  return {
    snapshotCluster: notImplemented('snapshotCluster'),
    upgradeRelease: notImplemented('upgradeRelease'),
    runSynchronizerJob: notImplemented('runSynchronizerJob'),
    waitForCacheReady: notImplemented('waitForCacheReady'),
    cleanupSynchronizerJob: notImplemented('cleanupSynchronizerJob'),
    verifyWorkloads: notImplemented('verifyWorkloads'),
    rollbackRelease: notImplemented('rollbackRelease'),
    ...createLockActivities(deps.temporal),
  };
}

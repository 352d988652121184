import type { Client } from '@temporalio/client';
import { createCheckActivities } from './checks.js';
import type { Activities } from './contracts.js';
import type { HelmClient } from './helm.js';
import type { KubeFactory } from './kube.js';
import type { SourceFiles } from './source.js';
import { createLockActivities } from './locks.js';
import { createDiffActivities } from './diff.js';
import { createFleetActivities } from './fleet.js';
import { createNotificationActivities } from './notify.js';
import { createAnalysisActivities } from './analysis.js';
import { createApprovalActivities } from './approvals.js';
import { createPreflightActivities } from './preflight.js';
import { createReleaseActivities } from './releases.js';
import { createSynchronizerActivities } from './synchronizer.js';
import { envValue } from '../common/env.js';

export interface ActivityDeps {
  /** Temporal client, for looking up which rollout holds a cluster lock. */
  temporal: Client;
  /** Kubernetes clients per kube context, from the worker's kubeconfig. */
  kube: KubeFactory;
  /** The Helm adapter, with the same kubeconfig the Kubernetes clients load. */
  helm: HelmClient;
  /** The pinned release source's files (git checkouts, digest-checked local files). */
  files: SourceFiles;
}

/** The worker's real activities, built from their dependencies (the composition root passes real ones). */
export function createActivities(deps: ActivityDeps): Activities {
  return {
    ...createPreflightActivities(deps),
    ...createReleaseActivities(deps),
    ...createSynchronizerActivities(deps),
    ...createDiffActivities(deps),
    ...createFleetActivities(deps),
    ...createNotificationActivities(),
    ...createAnalysisActivities(),
    ...createApprovalActivities({ files: deps.files, sshKeygen: envValue('ROLLOUT_SSH_KEYGEN') }),
    ...createCheckActivities(deps),
    ...createLockActivities(deps.temporal),
  };
}

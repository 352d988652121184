import type { Client } from '@temporalio/client';
import { createCheckActivities } from './checks.js';
import type { Activities } from './contracts.js';
import type { HelmClient } from '../adapters/helm.js';
import type { KubeFactory } from '../adapters/kube.js';
import type { SourceFiles } from '../adapters/source.js';
import type { Credentials } from '../adapters/credentials.js';
import { createRegistryActivities } from '../client/registries.js';
import { createDiffActivities } from './diff.js';
import { createFleetActivities } from './fleet.js';
import { createNotificationActivities } from '../adapters/webhooks.js';
import { createAnalysisActivities } from '../adapters/prometheus.js';
import { createApprovalActivities } from '../adapters/ssh-signatures.js';
import { createPreflightActivities } from './preflight.js';
import { createReleaseActivities } from './releases.js';
import { createDrivers } from '../drivers/index.js';
import { createFence, withFence } from './fence.js';
import type { Drivers } from '../drivers/driver.js';
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
  /** The credentials the worker declares (ROLLOUT_CREDENTIALS): its sink URL folder, for notifications. */
  credentials?: Credentials;
  /** The deploy mechanisms; by default every one this build has, on the adapters above. */
  drivers?: Drivers;
}

/** The worker's real activities, built from their dependencies (the composition root passes real ones). */
export function createActivities(adapters: ActivityDeps): Activities {
  const deps = { ...adapters, drivers: adapters.drivers ?? createDrivers(adapters) };
  return withFence(
    {
      ...createPreflightActivities(deps),
      ...createReleaseActivities(deps),
      ...createSynchronizerActivities(deps),
      ...createDiffActivities(deps),
      ...createFleetActivities(deps),
      ...createNotificationActivities({ credentials: deps.credentials }),
      ...createAnalysisActivities(),
      ...createApprovalActivities({ files: deps.files, sshKeygen: envValue('ROLLOUT_SSH_KEYGEN') }),
      ...createCheckActivities(deps),
      ...createRegistryActivities(deps.temporal),
    },
    createFence(deps.temporal),
  );
}

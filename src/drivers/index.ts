/** Every deploy mechanism the worker offers, built from its adapters: what the activities choose from. */
import type { HelmClient } from '../adapters/helm.js';
import type { KubeFactory } from '../adapters/kube.js';
import type { SourceFiles } from '../adapters/source.js';
import type { Drivers } from './driver.js';
import { createHelmDriver } from './helm/driver.js';

export function createDrivers(deps: {
  helm: HelmClient;
  kube: KubeFactory;
  files: SourceFiles;
  pendingGraceMs?: number;
}): Drivers {
  return { helm: createHelmDriver(deps) };
}

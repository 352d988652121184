/** Every deploy mechanism the worker offers, built from its adapters: what the activities choose from. */
import type { Drivers } from './driver.js';
import { createHelmDriver, type ReleaseDeps } from './helm/driver.js';
import { createArgoCdDriver } from './argocd/driver.js';

export function createDrivers(deps: ReleaseDeps): Drivers {
  const helm = createHelmDriver(deps);
  return { helm, argocd: createArgoCdDriver({ kube: deps.kube, files: deps.files, helm }) };
}

/** Every deploy mechanism the worker offers, built from its adapters: what the activities choose from. */
import type { Drivers } from './driver.js';
import { createHelmDriver, type ReleaseDeps } from './helm/driver.js';

export function createDrivers(deps: ReleaseDeps): Drivers {
  return { helm: createHelmDriver(deps) };
}

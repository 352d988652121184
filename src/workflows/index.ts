/** Every workflow the worker registers. */
export { rollout } from './rollout.js';
export { clusterRollout } from './cluster-rollout.js';
export { clusterRollback } from './cluster-rollback.js';
export { phaseBake } from './phase-bake.js';
export { releaseDiff } from './release-diff.js';
export { fleetStatus } from './fleet-status.js';
export { notification } from './notification.js';
export { controlRegistry } from './registry.js';
export { lockRegistry } from './lock-registry.js';

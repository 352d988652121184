/**
 * The rollout's public surface: what a client (the CLI, the demo, a script) needs to start, read and steer
 * rollouts, in one module. Clients import from here, never from the workflows' internals.
 */
export type { rollout } from './rollout.js';
export type { releaseDiff, ReleaseDiffInput } from './release-diff.js';
export type { fleetStatus, FleetInput } from './fleet-status.js';
export * from './definitions.js';
export { snapshotActivityCluster } from './activity-ids.js';
export type { controlRegistry } from './registry.js';
export type { lockRegistry } from './lock-registry.js';
export * from '../common/search-attributes.js';
export type { ClusterStatus, PhaseStatus, RolloutInput, RolloutResult, RolloutStatus } from '../domain/types.js';

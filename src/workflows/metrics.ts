/**
 * The tool's own metrics, emitted from workflow code through the SDK's metric meter: the worker exports
 * them with the SDK's (ROLLOUT_METRICS_ADDRESS), and they are never emitted on replay. Names and labels are
 * stable (docs/architecture.md lists them); the SDK adds its own labels (namespace, task queue, workflow
 * type).
 *
 * - `phased_rollout_rollout_state{rollout,plan,state}`: 1 for the state a rollout is in, 0 for the one it left.
 * - `phased_rollout_clusters{rollout,plan,state}`: how many of a rollout's clusters are in each state.
 * - `phased_rollout_step_duration_seconds{step,outcome}`: each step of a cluster, as the workflow timed it.
 * - `phased_rollout_gate_wait_seconds{plan,phase}`: from a gate starting to wait until it passed.
 */
import { metricMeter } from '@temporalio/workflow';

export function rolloutStateChanged(rollout: string, plan: string, from: string | undefined, to: string): void {
  const gauge = metricMeter.createGauge('phased_rollout_rollout_state', 'int', '1', 'The state a rollout is in (1)');
  if (from !== undefined && from !== to) gauge.set(0, { rollout, plan, state: from });
  gauge.set(1, { rollout, plan, state: to });
}

export function clusterCount(rollout: string, plan: string, state: string, count: number): void {
  metricMeter
    .createGauge('phased_rollout_clusters', 'int', '1', "How many of a rollout's clusters are in each state")
    .set(count, { rollout, plan, state });
}

export function stepTimed(step: string, outcome: 'done' | 'failed', seconds: number): void {
  metricMeter
    .createHistogram('phased_rollout_step_duration_seconds', 'float', 's', 'How long a step of a cluster took')
    .record(seconds, { step, outcome });
}

export function gateWaited(plan: string, phase: string, seconds: number): void {
  metricMeter
    .createHistogram('phased_rollout_gate_wait_seconds', 'float', 's', 'How long a gate waited before it passed')
    .record(seconds, { plan, phase });
}

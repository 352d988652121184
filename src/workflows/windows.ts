import { waitingLine, windowVerdict } from '../domain/windows.js';
import type { ClusterStatus, PhaseStatus } from '../domain/types.js';
import type { ClusterRolloutInput } from './cluster-rollout.js';
import { nowMs } from './clock.js';
import type { RolloutRun } from './rollout-run.js';

/**
 * The phase's pending clusters that a deploy window keeps from starting now, with when each may start;
 * each says so in its status. Nothing without windows.
 */
export function windowWaits(run: RolloutRun, phase: PhaseStatus): Map<string, number> {
  const windows = run.spec.windows ?? [];
  const waits = new Map<string, number>();
  if (windows.length === 0) return waits;
  const specs = new Map(run.spec.clusters.map((c) => [c.name, c]));
  const now = nowMs();
  const waiting: { cluster: string; line?: string }[] = [];
  for (const c of run.status.clusters.filter((x) => x.phase === phase.name && x.state === 'pending')) {
    const spec = specs.get(c.name) ?? { name: c.name, labels: {} };
    const v = windowVerdict(windows, spec, phase.name, now, run.status.windowOverrides);
    if (v.open) {
      if (c.waitingFor !== undefined) waiting.push({ cluster: c.name });
      continue;
    }
    waiting.push({ cluster: c.name, line: waitingLine(v, windows) });
    // Where the search stopped short of an opening, look again from where it stopped; a window that never
    // opens again was refused at validation: should one appear, look again in a day.
    waits.set(c.name, v.opensAt ?? v.searchedUntil ?? now + 86_400_000);
  }
  if (waiting.length > 0 || run.status.windowReason !== undefined) {
    run.apply({ kind: 'window-waits', phase: phase.name, waiting });
  }
  return waits;
}

/** When the first of the waiting clusters may start. */
export function earliest(waits: Map<string, number>): number {
  return Math.min(...waits.values());
}

/** The windows a cluster in flight must keep to, when the plan pauses work in flight (windowPolicy). */
export function inFlightWindows(run: RolloutRun, c: ClusterStatus): ClusterRolloutInput['windows'] {
  const windows = run.spec.windows ?? [];
  if (run.spec.windowPolicy?.inFlight !== 'pause' || windows.length === 0) return undefined;
  const labels = run.spec.clusters.find((x) => x.name === c.name)?.labels ?? {};
  return { windows, phase: c.phase, labels, overridden: [...(run.status.windowOverrides ?? [])] };
}

import {
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { clustersToStart, launchBurst, launchRoom, tallyPhase } from '../domain/progress.js';
import {
  RolloutState,
  type AnalysisRecord,
  type ClusterSnapshot,
  type ClusterStatus,
  type PhaseStatus,
} from '../domain/types.js';
import { durationMs } from '../plan/duration.js';
import { nowIso, nowMs } from './clock.js';
import { earliest, inFlightWindows, windowWaits } from './windows.js';
import { clusterRollout, clusterStepFailed, type ClusterFailureDetails } from './cluster-rollout.js';
import { analysisFor } from './analysis.js';
import { failureDetails, rootMessage } from './failures.js';
import { phaseBake, type BakeFailureDetails, type PhaseBakeInput } from './phase-bake.js';
import type { RolloutRun } from './rollout-run.js';
import { quickFirst } from './activity-options.js';
import { clusterTaskQueue } from './definitions.js';
import { snapshotActivityId } from './activity-ids.js';
import { releaseTarget } from '../domain/source.js';
import { overlaysOf } from '../plan/components.js';

/**
 * How a phase ended: all clusters done (and baked), a stop the caller must carry out, or this run's
 * history at its budget with none in flight: the rollout continues as a new run, which goes on here.
 */
export type PhaseEnd = 'done' | 'stop' | 'continue';

/**
 * Runs one phase: its clusters as child workflows (at most maxParallel at once), then its bake. On
 * failures beyond maxFailures the plan's policy applies: wait for a person's decision, or request a rollback.
 */
export async function runPhase(run: RolloutRun, phase: PhaseStatus): Promise<PhaseEnd> {
  run.apply({ kind: 'phase-started', phase: phase.name, at: nowIso() });
  for (;;) {
    const end = await runClusters(run, phase);
    if (end !== 'done') return end;
    const bakeFailed = await bake(run, phase);
    if (run.stop) return 'stop';
    if (!bakeFailed) break;
  }
  run.apply({ kind: 'phase-succeeded', phase: phase.name, at: nowIso() });
  return 'done';
}

async function runClusters(run: RolloutRun, phase: PhaseStatus): Promise<PhaseEnd> {
  const { status } = run;
  const policy = run.spec.onFailure;
  for (;;) {
    if (run.stop) return 'stop';
    const mine = run.clustersIn(phase.name);
    const tally = tallyPhase(status, phase, mine);
    if (tally.outcome === 'over-budget') {
      const failed = tally.failed.map((c) => `${c.name}: ${c.error ?? 'failed'}`).join('; ');
      // An inconclusive analysis is no verdict: a person decides, whatever the plan's failure action.
      if (policy.action === 'rollback' && !tally.failed.some((c) => c.inconclusive)) {
        if (tally.running === 0) {
          run.requestStop({ kind: 'rollback', scope: policy.rollbackScope, reason: `failure policy: ${failed}` });
          return 'stop';
        }
      } else if (status.state !== RolloutState.AwaitingDecision) {
        run.apply({ kind: 'decision-needed', phase: phase.name, failed });
      }
    } else if (status.state === RolloutState.AwaitingDecision) {
      run.apply({ kind: 'decision-settled' });
    }
    if (tally.outcome === 'succeeded') return 'done';
    const waits = windowWaits(run, phase);
    const ready = clustersToStart(status, phase, (c) => !waits.has(c.name), mine);
    // Each cluster started costs this run's history some events: past its budget, the clusters in
    // flight finish and the rollout continues as a new run, which starts the rest.
    const room = launchRoom(workflowInfo().historyLength, run.inFlightCount, run.input.historyBudget);
    if (room === 0 && ready.length > 0 && run.inFlightCount === 0) return 'continue';
    const startable = Math.min(room, ready.length);
    ready.slice(0, Math.min(startable, launchBurst)).forEach((c) => launch(run, c));
    if (startable > launchBurst) {
      // More to start now: let this burst's task end first, so queries and controls are answered between.
      await sleep(1);
      continue;
    }
    await run.nextChange(true, waits.size > 0 ? earliest(waits) - nowMs() : undefined);
  }
}

/** Starts one cluster's child workflow; its outcome (succeeded, failed with step and snapshot, cancelled) lands on the cluster. */
function launch(run: RolloutRun, c: ClusterStatus): void {
  const { input, status, spec } = run;
  const cluster = run.clusterSpec(c.name);
  const overlays = overlaysOf(cluster, run.components);
  const workflowId = `${status.id}:${c.name}${c.attempts > 0 ? `:attempt-${c.attempts + 1}` : ''}`;
  run.launch(c, workflowId, async () => {
    try {
      const snapshot = await takeSnapshot(run, c);
      const child = await startChild(clusterRollout, {
        workflowId,
        taskQueue: clusterTaskQueue(workflowInfo().taskQueue),
        args: [
          {
            rolloutId: status.id,
            cluster: c.name,
            context: c.context,
            ...releaseTarget(input),
            overlays,
            labels: cluster?.labels ?? {},
            synchronizer: spec.synchronizer,
            cache: spec.cache,
            verify: spec.verify,
            snapshot,
            analysis: analysisFor(run, c),
            windows: inFlightWindows(run, c),
          },
        ],
      });
      const r = await child.result();
      run.apply({ kind: 'cluster-succeeded', cluster: c.name, ...r });
    } catch (err) {
      if (isCancellation(err)) {
        run.apply({ kind: 'cluster-cancelled', cluster: c.name });
        return;
      }
      const details = failureDetails<ClusterFailureDetails>(err);
      if (details?.fenced) {
        // Nothing was changed by the step the fence kept back: a stopping rollout restores what the cluster
        // did before; a paused or frozen one starts the cluster again later.
        run.apply({ kind: run.stop ? 'cluster-cancelled' : 'cluster-requeued', cluster: c.name });
        return;
      }
      run.apply({
        kind: 'cluster-failed',
        cluster: c.name,
        error: rootMessage(err),
        failedStep: details?.failedStep,
        analyses: details?.analyses,
        inconclusive: details?.inconclusive,
      });
    }
  });
}

/**
 * The cluster's snapshot, taken by the rollout right before its first attempt and kept for every later
 * one; the cluster's workflow has it as input. A local activity first (the rollout's workflow task runs a
 * batch of them at once), then the regular activity under an ID that names the cluster, so `rollout
 * status` shows an unreachable cluster.
 */
async function takeSnapshot(run: RolloutRun, c: ClusterStatus): Promise<ClusterSnapshot> {
  if (c.snapshot) return c.snapshot;
  const mine = run.componentsFor(c.name);
  const releases = mine.map((m) => ({ component: m.name, release: m.release }));
  try {
    const snapshot = await quickFirst(
      mine[0]?.release.timeout ?? '10m',
      (a, timeout) => a.snapshotCluster({ cluster: c.name, context: c.context, releases, timeout }),
      snapshotActivityId(c.name, c.attempts),
    );
    run.apply({ kind: 'snapshot-taken', cluster: c.name, snapshot });
    return snapshot;
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw clusterStepFailed({ failedStep: 'snapshot' }, err);
  }
}

/** Each cluster's analyses, templated for it as after its verification, to run again during the bake. */
function bakeAnalyses(run: RolloutRun, clusters: ClusterStatus[]): PhaseBakeInput['analyses'] {
  const list = clusters.flatMap((c) => {
    const analysis = analysisFor(run, c);
    return analysis && analysis.runs.length > 0 ? [{ cluster: c.name, analysis }] : [];
  });
  return list.length > 0 ? list : undefined;
}

/** The phase's bake; returns true when verification failed (the cluster is then marked failed). */
async function bake(run: RolloutRun, phase: PhaseStatus): Promise<boolean> {
  const { input, status, spec } = run;
  const ms = durationMs(phase.bake);
  const clusters = status.clusters.filter((c) => c.phase === phase.name && c.state === 'succeeded');
  if (ms === 0 || clusters.length === 0) return false;
  const until = new Date(nowMs() + ms).toISOString();
  run.apply({ kind: 'bake-started', phase: phase.name, until });
  const scope = new CancellationScope();
  const outcome = scope.run(() =>
    executeChild(phaseBake, {
      workflowId: run.nextBakeId(phase.name),
      args: [
        {
          phase: phase.name,
          clusters: clusters.map((c) => ({
            cluster: c.name,
            context: c.context,
            labels: run.clusterSpec(c.name)?.labels ?? {},
          })),
          components: run.components,
          versions: input.versions,
          verify: spec.verify,
          until,
          analyses: bakeAnalyses(run, clusters),
        },
      ],
    }).then(
      (done) => ({ records: done?.analyses ?? [] }),
      (err: unknown) => ({ err }),
    ),
  );
  let settled: { records?: { cluster: string; records: AnalysisRecord[] }[]; err?: unknown } | undefined;
  void outcome.then((r) => (settled = r));
  await condition(() => settled !== undefined || run.stop !== undefined);
  if (!settled) {
    scope.cancel();
    await outcome;
    return false;
  }
  // What the analyses measured during the bake goes on each cluster's record, after its own.
  run.apply({ kind: 'bake-ended', phase: phase.name, records: settled.records ?? [] });
  const result = settled.err;
  if (result === undefined || isCancellation(result)) return false;
  const failed = failureDetails<BakeFailureDetails>(result);
  const c = status.clusters.find((x) => x.name === failed?.cluster);
  if (!c) throw result as Error; // not a bake verdict: fail the rollout with the child's own failure
  run.apply({
    kind: 'cluster-failed',
    cluster: c.name,
    failedStep: failed?.failedStep,
    error: rootMessage(result),
    at: nowIso(),
    inconclusive: failed?.inconclusive,
    analyses: failed?.analyses,
  });
  return true;
}

import {
  ApplicationFailure,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ClusterTarget } from '../activities/contracts.js';
import type { ClusterSnapshot, StepName } from '../domain/types.js';
import type { CacheSpec, ReleaseSpec, SynchronizerSpec, VerifySpec } from '../plan/schema.js';
import { renderTemplate } from '../plan/template.js';
import { activitiesFor, quick } from './activity-options.js';
import { progressQuery, snapshotSignal, type ClusterProgress } from './definitions.js';

export interface ClusterRolloutInput extends ClusterTarget {
  rolloutId: string;
  baseDir: string;
  overlay?: string;
  operator: ReleaseSpec;
  chart: ReleaseSpec;
  operatorVersion: string;
  chartVersion: string;
  synchronizer?: SynchronizerSpec;
  cache?: CacheSpec;
  verify: VerifySpec;
  /** The snapshot from an earlier attempt: a retry must not mistake its own half-done work for the baseline. */
  snapshot?: ClusterSnapshot;
}

/** Steps whose target was already in place. The snapshot reached the rollout earlier, by signal. */
export interface ClusterRolloutResult {
  skipped: StepName[];
}

/** Details attached to a cluster's failure, so the rollout knows where it stopped. */
export interface ClusterFailureDetails {
  failedStep: StepName;
  snapshot?: ClusterSnapshot;
}

/**
 * One cluster, in order: snapshot, upgrade operator, run synchronizer Job, wait for the cache, upgrade
 * the Job once the cache is ready, upgrade the chart, verify. Steps whose target is already in place report `changed: false`
 * and are recorded as skipped.
 */
export async function clusterRollout(input: ClusterRolloutInput): Promise<ClusterRolloutResult> {
  const progress: ClusterProgress = { cluster: input.cluster, done: [], skipped: [] };
  setHandler(progressQuery, () => progress);
  const target: ClusterTarget = { cluster: input.cluster, context: input.context };
  const vars = { cluster: input.cluster, version: input.chartVersion };
  let snapshot = input.snapshot;

  async function step<T>(name: StepName, run: () => Promise<T>, changed?: (r: T) => boolean): Promise<T> {
    progress.step = name;
    const result = await run();
    progress.done.push(name);
    if (changed && !changed(result)) progress.skipped.push(name);
    progress.step = undefined;
    return result;
  }

  try {
    if (!snapshot) {
      const taken = await step('snapshot', () =>
        quick.snapshotCluster({ ...target, operator: input.operator, chart: input.chart }),
      );
      snapshot = taken;
      await getExternalWorkflowHandle(workflowInfo().parent?.workflowId ?? input.rolloutId).signal(snapshotSignal, {
        cluster: input.cluster,
        snapshot: taken,
      });
    }
    await step(
      'upgrade-operator',
      () =>
        activitiesFor(input.operator.timeout).upgradeRelease({
          ...target,
          role: 'operator',
          release: input.operator,
          version: input.operatorVersion,
          baseDir: input.baseDir,
        }),
      (r) => r.changed,
    );
    const cacheKey = input.synchronizer ? renderTemplate(input.synchronizer.cacheKey, vars) : '';
    const job = input.synchronizer
      ? await step(
          'run-synchronizer',
          () =>
            activitiesFor(input.synchronizer?.timeout ?? '30m').runSynchronizerJob({
              ...target,
              synchronizer: input.synchronizer as SynchronizerSpec,
              version: input.chartVersion,
              cacheKey,
              baseDir: input.baseDir,
              rolloutId: input.rolloutId,
            }),
          (r) => r.changed,
        )
      : undefined;
    if (input.cache) {
      const cache = input.cache;
      await step('wait-cache', () =>
        activitiesFor(cache.timeout).waitForCacheReady({ ...target, cache, version: input.chartVersion, cacheKey }),
      );
    }
    // The Job has done its work once the cache is ready; it need not outlive that.
    if (job) await step('cleanup-synchronizer', () => quick.cleanupSynchronizerJob({ ...target, ...job }));
    await step(
      'upgrade-chart',
      () =>
        activitiesFor(input.chart.timeout).upgradeRelease({
          ...target,
          role: 'chart',
          release: input.chart,
          version: input.chartVersion,
          baseDir: input.baseDir,
          overlay: input.overlay,
        }),
      (r) => r.changed,
    );
    await step('verify', () =>
      activitiesFor(input.verify.timeout).verifyWorkloads({
        ...target,
        release: input.chart,
        verify: input.verify,
        version: input.chartVersion,
      }),
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failedStep = progress.step ?? 'snapshot';
    const details: ClusterFailureDetails = { failedStep, snapshot };
    throw ApplicationFailure.create({
      type: 'ClusterStepFailed',
      message: `${failedStep} failed: ${rootMessage(err)}`,
      nonRetryable: true,
      details: [details],
    });
  }
  return { skipped: progress.skipped };
}

/** The innermost message of a Temporal failure chain: what actually went wrong. */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

import { ApplicationFailure, CancellationScope, condition, isCancellation, setHandler } from '@temporalio/workflow';
import { FailureType } from '../domain/failure-types.js';
import type { ClusterTarget } from '../activities/contracts.js';
import type {
  AnalysisRecord,
  ClusterSnapshot,
  Overlays,
  ReleaseRole,
  ReleaseTarget,
  StepName,
} from '../domain/types.js';
import type {
  AnalysisTemplate,
  CacheSpec,
  DeployWindow,
  ReleaseSpec,
  SynchronizerSpec,
  VerifySpec,
} from '../plan/schema.js';
import { renderCacheCheck, renderTemplate } from '../plan/template.js';
import { activitiesFor, quickFirst } from './activity-options.js';
import { handlerDescriptions, progressQuery, windowOverrideSignal, type ClusterProgress } from './definitions.js';
import { waitingLine, windowVerdict, type WindowVerdict } from '../domain/windows.js';
import { failureType, rootMessage } from './failures.js';
import { nowMs } from './clock.js';
import { runAnalysis } from './analysis.js';
import { stepTimed } from './metrics.js';

export interface ClusterRolloutInput extends ClusterTarget, ReleaseTarget {
  rolloutId: string;
  /** The cluster's values overlays, by release, each applied after that release's base values. */
  overlays: Overlays;
  synchronizer?: SynchronizerSpec;
  cache?: CacheSpec;
  verify: VerifySpec;
  /**
   * Where the cluster stood before the rollout changed it: taken by the rollout right before the first
   * attempt and passed to every later one, so a retry never mistakes its own half-done work for the
   * baseline (and a rollback restores what was there before the rollout).
   */
  snapshot: ClusterSnapshot;
  /**
   * With the plan's windowPolicy inFlight "pause": the windows, this cluster's phase and labels, and the
   * windows set aside so far; before each step the cluster waits (a durable timer) for a window to open.
   */
  windows?: { windows: DeployWindow[]; phase: string; labels: Record<string, string>; overridden: string[] };
  /** Metric analyses to pass after verification, their queries templated for this cluster by the rollout. */
  analysis?: { address: string; runs: { template: AnalysisTemplate; query: string }[] };
}

/**
 * Steps that changed nothing: found in place (someone else's doing, or an earlier rollout's), or resumed
 * (this rollout had done them in an attempt cut short, e.g. by a worker crash).
 */
export interface ClusterRolloutResult {
  skipped: StepName[];
  resumed?: StepName[];
  /** The analyses run, with every measurement. */
  analyses?: AnalysisRecord[];
}

/** Details attached to a cluster's failure, so the rollout knows where it stopped. */
export interface ClusterFailureDetails {
  failedStep: StepName;
  analyses?: AnalysisRecord[];
  /** An analysis was inconclusive: a person decides, whatever the plan's failure action. */
  inconclusive?: boolean;
  /** A stop word's fence kept the step from starting (nothing was changed by it). */
  fenced?: boolean;
}

/** A cluster's step failed: final for this attempt, with where it stopped for the rollout to read. */
export function clusterStepFailed(details: ClusterFailureDetails, err: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.ClusterStepFailed,
    message: `${details.failedStep} failed: ${rootMessage(err)}`,
    nonRetryable: true,
    details: [details],
  });
}

/**
 * One cluster, in order (the rollout took its snapshot before): upgrade operator, verify it, run synchronizer
 * Job, wait for the cache, remove the Job once the cache is ready, upgrade the chart, verify. Steps whose
 * target is already in place report `changed: false` and are recorded as skipped.
 */
export async function clusterRollout(input: ClusterRolloutInput): Promise<ClusterRolloutResult> {
  const progress: ClusterProgress = { cluster: input.cluster, done: [], skipped: [], resumed: [], analyses: [] };
  setHandler(progressQuery, () => progress, { description: handlerDescriptions.progress });
  const target: ClusterTarget = { cluster: input.cluster, context: input.context };
  const vars = { cluster: input.cluster, version: input.chartVersion };
  const { source } = input;

  const w = input.windows;
  if (w) setHandler(windowOverrideSignal, ({ window }) => void w.overridden.push(window));
  const verdict = (): WindowVerdict =>
    w
      ? windowVerdict(w.windows, { name: input.cluster, labels: w.labels }, w.phase, nowMs(), w.overridden)
      : { open: true };
  /** Before a step: while the cluster's windows are closed, wait for one to open (a durable timer) or an override. */
  async function inWindow(): Promise<void> {
    for (let v = verdict(); !v.open; v = verdict()) {
      progress.waitingFor = `paused in flight: ${waitingLine(v, w?.windows ?? [])}`;
      const overrides = w?.overridden.length;
      const until = v.opensAt ?? v.searchedUntil ?? nowMs() + 86_400_000;
      await condition(() => w?.overridden.length !== overrides, Math.max(1_000, until - nowMs()));
    }
    progress.waitingFor = undefined;
  }

  async function step<T extends object>(name: StepName, run: () => Promise<T>): Promise<T> {
    await inWindow();
    progress.step = name;
    const began = Date.now();
    const result = await run().catch((err: unknown) => {
      stepTimed(name, 'failed', (Date.now() - began) / 1000);
      throw err;
    });
    stepTimed(name, 'done', (Date.now() - began) / 1000);
    progress.done.push(name);
    const { changed, resumed } = result as { changed?: boolean; resumed?: boolean };
    if (changed === false) (resumed ? progress.resumed : progress.skipped).push(name);
    progress.step = undefined;
    return result;
  }
  const upgrade = (role: ReleaseRole, release: ReleaseSpec, version: string) =>
    activitiesFor(release.timeout).upgradeRelease({
      ...target,
      role,
      release,
      version,
      overlay: input.overlays[role],
      source,
      rolloutId: input.rolloutId,
      // The operator's upgrade is the cluster's first change: a pause or freeze in force keeps it from starting.
      opensCluster: role === 'operator',
    });
  const synchronizerVersion = { namespace: input.synchronizer?.namespace ?? '', version: input.chartVersion };
  /**
   * Removes this version's synchronizer Jobs; on a failed or cancelled attempt too, so none is left behind.
   * A delete is quick: tried as a local activity first.
   */
  const removeJobs = (timeout: string) =>
    quickFirst(timeout, (a, t) => a.cleanupSynchronizerJob({ ...target, ...synchronizerVersion, timeout: t }));

  try {
    await step('upgrade-operator', () => upgrade('operator', input.operator, input.operatorVersion));
    const operatorWorkloads = input.verify.operator.workloads;
    if (operatorWorkloads !== 'none') {
      await step('verify-operator', () =>
        activitiesFor(input.verify.timeout).verifyWorkloads({
          ...target,
          release: input.operator,
          verify: { ...input.verify, workloads: operatorWorkloads, http: [] },
          version: input.operatorVersion,
        }),
      );
    }
    const cacheKey = input.synchronizer ? renderTemplate(input.synchronizer.cacheKey, vars) : '';
    const job = input.synchronizer
      ? await step('run-synchronizer', () =>
          activitiesFor(input.synchronizer?.timeout ?? '30m').runSynchronizerJob({
            ...target,
            synchronizer: input.synchronizer as SynchronizerSpec,
            version: input.chartVersion,
            cacheKey,
            source,
            rolloutId: input.rolloutId,
          }),
        )
      : undefined;
    if (input.cache) {
      const cache = input.cache;
      await step('wait-cache', () =>
        activitiesFor(cache.timeout).waitForCacheReady({
          ...target,
          cache: { ...cache, check: renderCacheCheck(cache.check, { ...vars, cacheKey }) },
          version: input.chartVersion,
          cacheKey,
        }),
      );
    }
    // The Job has done its work once the cache is ready; it need not outlive that.
    if (job) await step('cleanup-synchronizer', () => removeJobs(input.synchronizer?.timeout ?? '5m').then(() => ({})));
    await step('upgrade-chart', () => upgrade('chart', input.chart, input.chartVersion));
    await step('verify', () =>
      activitiesFor(input.verify.timeout).verifyWorkloads({
        ...target,
        release: input.chart,
        verify: input.verify,
        version: input.chartVersion,
      }),
    );
    for (const run of input.analysis?.runs ?? []) {
      const address = input.analysis?.address ?? '';
      await step('analysis', () =>
        runAnalysis(address, run.template, run.query, (r) => {
          progress.analyses = [...progress.analyses.filter((x) => x.name !== r.name), r];
        }),
      );
    }
  } catch (err) {
    const failedStep = progress.step ?? 'upgrade-operator';
    const jobMayExist = input.synchronizer && progress.done.includes('upgrade-operator');
    if (jobMayExist && !progress.done.includes('cleanup-synchronizer')) {
      // The attempt is over: its Job must not outlive it. Best effort, briefly (an unreachable cluster must
      // not hold back the failure's report), and never instead of the real failure.
      await CancellationScope.nonCancellable(() => removeJobs('1m')).catch(() => undefined);
    }
    if (isCancellation(err)) throw err;
    const inconclusive = failureType(err) === FailureType.AnalysisInconclusive;
    const fenced = failureType(err) === FailureType.Fenced;
    throw clusterStepFailed({ failedStep, analyses: progress.analyses, inconclusive, fenced }, err);
  }
  return { skipped: progress.skipped, resumed: progress.resumed, analyses: progress.analyses };
}

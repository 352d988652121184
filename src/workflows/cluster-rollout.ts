import { ApplicationFailure, CancellationScope, condition, isCancellation, setHandler } from '@temporalio/workflow';
import { FailureType } from '../domain/failure-types.js';
import type { ClusterTarget } from '../activities/contracts.js';
import {
  upgradeStep,
  verifyStep,
  type AnalysisRecord,
  type ClusterSnapshot,
  type Overlays,
  type ReleaseTarget,
  type StepName,
} from '../domain/types.js';
import type { AnalysisTemplate, CacheSpec, DeployWindow, SynchronizerSpec, VerifySpec } from '../plan/schema.js';
import { appliesTo, primaryComponent, versionOf, type Component } from '../plan/components.js';
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
  /** The cluster's values overlays, by component, each applied after that component's base values. */
  overlays: Overlays;
  /** The cluster's labels: a component with a selector is rolled only where they match. */
  labels: Record<string, string>;
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

/** Verifies one component's workloads and endpoints at `version` (after its upgrade, or its rollback). */
export function verifyComponent(target: ClusterTarget, component: Component, verify: VerifySpec, version: string) {
  const { workloads, http } = component.verify;
  if (workloads === 'none' && http.length === 0) return undefined;
  return () =>
    activitiesFor(verify.timeout).verifyWorkloads({
      ...target,
      release: component.release,
      verify: { ...verify, workloads: workloads === 'none' ? [] : workloads, http },
      version,
    });
}

/**
 * One cluster, in order (the rollout took its snapshot before): each component the cluster gets, in the
 * release's order: upgrade it, verify it; before the component that needs the cache, run the synchronizer
 * Job, wait for the cache, remove the Job once the cache is ready. Then the analyses. Steps whose target
 * is already in place report `changed: false` and are recorded as skipped.
 */
export async function clusterRollout(input: ClusterRolloutInput): Promise<ClusterRolloutResult> {
  const progress: ClusterProgress = { cluster: input.cluster, done: [], skipped: [], resumed: [], analyses: [] };
  setHandler(progressQuery, () => progress, { description: handlerDescriptions.progress });
  const target: ClusterTarget = { cluster: input.cluster, context: input.context };
  const { source, components, versions } = input;
  const primary = primaryComponent(components);
  const chartVersion = versionOf(versions, primary);
  const vars = { cluster: input.cluster, version: chartVersion };
  const mine = components.filter((c) => appliesTo(c, input.labels));

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
  const upgrade = (c: Component, first: boolean) =>
    activitiesFor(c.release.timeout).upgradeRelease({
      ...target,
      component: c.name,
      release: c.release,
      version: versionOf(versions, c),
      overlay: input.overlays[c.name],
      source,
      ...(input.planName ? { plan: input.planName } : {}),
      rolloutId: input.rolloutId,
      // The cluster's first change: a pause or freeze in force keeps it from starting.
      opensCluster: first,
    });
  const synchronizerVersion = { namespace: input.synchronizer?.namespace ?? '', version: chartVersion };
  /**
   * Removes this version's synchronizer Jobs; on a failed or cancelled attempt too, so none is left behind.
   * A delete is quick: tried as a local activity first.
   */
  const removeJobs = (timeout: string) =>
    quickFirst(timeout, (a, t) => a.cleanupSynchronizerJob({ ...target, ...synchronizerVersion, timeout: t }));
  let jobMayExist = false;

  /** The synchronizer Job, the cache wait and the Job's removal, before the component that needs the cache. */
  async function buildCache(): Promise<void> {
    const synchronizer = input.synchronizer;
    const cacheKey = synchronizer ? renderTemplate(synchronizer.cacheKey, vars) : '';
    if (synchronizer) jobMayExist = true;
    const job = synchronizer
      ? await step('run-synchronizer', () =>
          activitiesFor(synchronizer.timeout).runSynchronizerJob({
            ...target,
            synchronizer,
            version: chartVersion,
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
          version: chartVersion,
          cacheKey,
        }),
      );
    }
    // The Job has done its work once the cache is ready; it need not outlive that.
    if (job && synchronizer)
      await step('cleanup-synchronizer', () => removeJobs(synchronizer.timeout).then(() => ({})));
  }

  try {
    for (const [i, c] of mine.entries()) {
      if (c.afterCache) await buildCache();
      await step(upgradeStep(c.name), () => upgrade(c, i === 0));
      const verify = verifyComponent(target, c, input.verify, versionOf(versions, c));
      if (verify) await step(verifyStep(c.name), verify);
    }
    for (const run of input.analysis?.runs ?? []) {
      const address = input.analysis?.address ?? '';
      await step('analysis', () =>
        runAnalysis(address, run.template, run.query, (r) => {
          progress.analyses = [...progress.analyses.filter((x) => x.name !== r.name), r];
        }),
      );
    }
  } catch (err) {
    const failedStep = progress.step ?? upgradeStep(mine[0]?.name ?? primary.name);
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
  return {
    skipped: progress.skipped,
    resumed: progress.resumed,
    analyses: progress.analyses,
  };
}

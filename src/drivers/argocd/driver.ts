/**
 * Releases as Argo CD applies them: each cluster's release is an existing Argo CD Application on the
 * control cluster the plan names, and moving it is a protocol that neither fights Argo CD nor can be fooled
 * by it (issue: roll through Argo CD):
 *
 * 1. Ownership: the Application must carry `phased-rollout.io/plan` naming the plan; one whose owner (an
 *    ApplicationSet, a self-healing app of apps) would rewrite its sources is refused with the reason.
 * 2. Pin: `spec.sources` become the chart at the version and the values from the config repository at the
 *    pinned commit (never a branch), with a hard refresh.
 * 3. Wait while another operation (auto-sync, a person) is queued or running.
 * 4. Sync with the revisions written out, marked with the change (rollout, cluster, component, revisions)
 *    and the attempt; the Application's own sync options and pruning policy apply.
 * 5. Done when the marked operation Succeeded at the desired revisions, then Synced at them and Healthy,
 *    still Healthy `healthyGrace` after the operation ended; Failed/Error/Degraded fail with Argo CD's words.
 * 6. Rollback is the same protocol, to the sources and revisions Argo CD recorded in its history for the
 *    revision the snapshot names (not `argocd app rollback`, which auto-sync refuses).
 * 7. A retry finds its own marked operation (running or ended) instead of starting another.
 *
 * Only the control cluster is reached here. Rendering (the diff, preflight, the objects verification reads)
 * is Helm's, of the same chart and values the Application is pinned to.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../domain/failure-types.js';
import type { PinnedSource, ReleaseSnapshot } from '../../domain/types.js';
import { durationMs } from '../../plan/duration.js';
import type { ReleaseSpec } from '../../plan/schema.js';
import { classify, isConflict, isNotFound } from '../../adapters/kube-errors.js';
import { waitForObjects } from '../../adapters/kube-wait.js';
import type { KubeFactory } from '../../adapters/kube.js';
import type { SourceFiles } from '../../adapters/source.js';
import type { ReleaseDriver, ReleaseOn, ReleaseUpgrade, RunningRelease, UpgradeOutcome } from '../driver.js';
import { pinnedValues } from '../values.js';
import { waitingOn } from '../../activities/context.js';
import { unstick } from '../statefulsets.js';
import {
  applicationName,
  applicationSetProblem,
  changeMark,
  currentSources,
  describeState,
  desiredState,
  movedBy,
  operationView,
  parentProblem,
  planAnnotation,
  sameRevisions,
  settledView,
  syncOperation,
  syncedRevisions,
  terminationPatch,
  trackingParent,
  type Application,
  type ApplicationSet,
  type ApplicationSource,
  type DesiredState,
  type OperationView,
} from './application.js';

export interface ArgoCdDeps {
  kube: KubeFactory;
  files: SourceFiles;
  /** Renders and reads CRDs of the same chart Argo CD will fetch (Helm's driver). */
  helm: ReleaseDriver;
}

const group = 'argoproj.io/v1alpha1';
/** How long a terminated operation of ours is given to end (the controller ends one within moments). */
const terminateWaitMs = 30_000;

export function createArgoCdDriver(deps: ArgoCdDeps): ReleaseDriver {
  function where(release: ReleaseSpec) {
    const spec = release.argocd;
    if (!spec) {
      throw ApplicationFailure.nonRetryable(
        `${release.releaseName} has driver argocd but no argocd.context`,
        FailureType.ArgoCd,
      );
    }
    return spec;
  }

  function appRef(on: ReleaseOn) {
    const spec = where(on.release);
    const name = applicationName(spec.application, on.cluster, on.release);
    const kube = deps.kube(spec.context);
    const path = `/apis/argoproj.io/v1alpha1/namespaces/${spec.namespace}/applications/${name}`;
    return { spec, name, kube, path, label: `Application ${spec.namespace}/${name} on ${spec.context}` };
  }

  async function read(on: ReleaseOn): Promise<Application> {
    const { kube, path, label } = appRef(on);
    try {
      return await kube.objects.getPath<Application>(path);
    } catch (err) {
      if (isNotFound(err)) {
        throw ApplicationFailure.nonRetryable(
          `${label} does not exist: the rollout moves each cluster's existing Application (argocd.application names it), it does not create one`,
          FailureType.ArgoCd,
        );
      }
      throw classify(err, `read ${label}`);
    }
  }

  /** Refuses an Application that is not handed to this plan, or whose owner would revert what is written. */
  async function requireOwnership(on: ReleaseOn, app: Application): Promise<void> {
    const { spec, kube, label } = appRef(on);
    const planned = app.metadata?.annotations?.[planAnnotation];
    if (!planned || (on.plan !== undefined && planned !== on.plan)) {
      throw ApplicationFailure.nonRetryable(
        `${label} is not handed to ${on.plan ? `plan ${on.plan}` : 'this plan'}: ${planned ? `its ${planAnnotation} annotation names ${planned}` : `it has no ${planAnnotation} annotation`}; annotate it to let the rollout move it`,
        FailureType.ArgoCd,
      );
    }
    for (const owner of app.metadata?.ownerReferences ?? []) {
      if (owner.kind !== 'ApplicationSet') continue;
      const set = await kube.objects
        .getPath<ApplicationSet>(
          `/apis/argoproj.io/v1alpha1/namespaces/${spec.namespace}/applicationsets/${owner.name}`,
        )
        .catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw classify(err, `read ApplicationSet ${owner.name} on ${spec.context}`);
        });
      const problem = set && applicationSetProblem(set, app.metadata?.name ?? '', owner.name);
      if (problem) throw ApplicationFailure.nonRetryable(`${label} cannot be moved: ${problem}`, FailureType.ArgoCd);
    }
    const parentName = trackingParent(app);
    if (parentName && parentName !== app.metadata?.name) {
      const parent = await kube.objects
        .getPath<Application>(`/apis/argoproj.io/v1alpha1/namespaces/${spec.namespace}/applications/${parentName}`)
        .catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw classify(err, `read Application ${parentName} on ${spec.context}`);
        });
      const problem = parent && parentProblem(parent, parentName);
      if (problem) throw ApplicationFailure.nonRetryable(`${label} cannot be moved: ${problem}`, FailureType.ArgoCd);
    }
  }

  function gitSource(source: PinnedSource, release: ReleaseSpec): Extract<PinnedSource, { kind: 'git' }> {
    if (source.kind !== 'git') {
      throw ApplicationFailure.nonRetryable(
        `${release.releaseName} is deployed by Argo CD, which reads its values from the config repository at the pinned commit: start the rollout from a git source (rollout start --source), not a local folder`,
        FailureType.ArgoCd,
      );
    }
    return source;
  }

  /**
   * Waits on the Application (a watch, no polling) until `check` settles, bounded by the release's timeout.
   */
  function waitOn<R>(
    on: ReleaseOn,
    deadline: number,
    check: (app: Application | undefined) => R | undefined,
    what: string,
  ) {
    const { kube, spec, name, label } = appRef(on);
    return waitForObjects<Application, R>({
      kube,
      apiVersion: group,
      kind: 'Application',
      namespace: spec.namespace,
      fieldSelector: `metadata.name=${name}`,
      check: (items) => {
        const settled = check(items[0]);
        // `rollout status` shows what the cluster waits on, with Argo CD's view of the Application now.
        waitingOn(settled === undefined ? `Argo CD: waits for ${what} (${describeState(items[0])})` : undefined);
        return settled;
      },
      deadline,
      signal: Context.current().cancellationSignal,
      describe: (items) => `${label}: ${describeState(items[0])}`,
    });
  }

  /**
   * Moves the Application to `desired` by the protocol, marked `mark`; returns the revision Argo CD
   * recorded and whether an operation of ours was found already done (`resumed`).
   */
  async function move(
    on: ReleaseOn,
    desired: DesiredState,
    mark: string,
    rolloutId: string,
    afterSync?: (app: Application) => Promise<void>,
  ): Promise<{ revision: number; resumed: boolean }> {
    const { spec, kube, path, label } = appRef(on);
    const deadline = Date.now() + durationMs(on.release.timeout);
    let app = await read(on);
    await requireOwnership(on, app);
    const initially = operationView(app, mark).kind;
    const resumed = initially === 'ours-running' || initially === 'ours-done';
    let ended: Extract<OperationView, { kind: 'ours-done' }> | undefined;
    while (!ended) {
      app = await read(on);
      const view = operationView(app, mark);
      if (view.kind === 'foreign-running') {
        // Another client's operation (auto-sync, a person) ends first.
        await waitOn(
          on,
          deadline,
          (a) => (a && operationView(a, mark).kind === 'foreign-running' ? undefined : a),
          `${view.by}'s operation on ${label} to end`,
        );
        continue;
      }
      if (view.kind === 'none') {
        // Pinned sources, the hard refresh and the marked sync in one write, under the version read: auto-sync
        // sees an operation in progress and starts none of its own; a concurrent edit fails it, and it is
        // read again.
        const attempt = Context.current().info.attempt;
        const patch = {
          metadata: {
            resourceVersion: app.metadata?.resourceVersion,
            annotations: { 'argocd.argoproj.io/refresh': 'hard' },
          },
          spec: { source: null, sources: desired.sources },
          operation: syncOperation(app, desired, mark, attempt, rolloutId),
          // Without clearing the last state, Argo CD can report the new operation Succeeded with nothing applied.
          status: { operationState: null },
        };
        const written = await kube.objects.mergePatchRaw(path, patch).catch((err: unknown) => {
          if (isConflict(err)) return undefined;
          throw classify(err, `pin the sources of ${label} and start its sync`);
        });
        if (!written) continue;
      }
      // Our operation ends: Succeeded at the desired revisions, or the cluster fails with Argo CD's message.
      // Seen gone (another operation right after ours, a self-heal), it is judged by what Argo CD synced.
      const outcome = await waitOn(
        on,
        deadline,
        (a) => {
          if (!a) throw ApplicationFailure.nonRetryable(`${label} was deleted during the sync`, FailureType.ArgoCd);
          const v = operationView(a, mark);
          if (v.kind === 'ours-done') return v;
          if (v.kind === 'ours-running' || v.kind === 'foreign-running') return undefined;
          return { kind: 'gone' as const, app: a };
        },
        `its sync of ${label} at ${desired.revisions.join(', ')} to end`,
      ).catch((err: unknown) => terminateStuck(on, mark, err));
      if (outcome.kind === 'ours-done') {
        ended = outcome;
      } else if (sameRevisions(syncedRevisions(outcome.app), desired.revisions)) {
        const last = outcome.app.status?.history?.at(-1);
        ended = {
          kind: 'ours-done',
          phase: 'Succeeded',
          message: '',
          revisions: desired.revisions,
          finishedAt: last?.deployedAt,
        };
      } else if (Date.now() >= deadline) {
        throw ApplicationFailure.nonRetryable(
          `${label}: the rollout's sync was replaced before it ended, and the revisions were not synced (${describeState(outcome.app)})`,
          FailureType.Timeout,
        );
      }
      // Otherwise the sync vanished without syncing the revisions: start it again.
    }
    if (ended.phase !== 'Succeeded') {
      throw ApplicationFailure.nonRetryable(
        `Argo CD's sync of ${label} ${ended.phase}: ${ended.message}`,
        FailureType.ArgoCdSyncFailed,
      );
    }
    if (!sameRevisions(ended.revisions, desired.revisions)) {
      throw ApplicationFailure.nonRetryable(
        `Argo CD's sync of ${label} succeeded at ${ended.revisions.join(', ') || 'no revision'}, not at ${desired.revisions.join(', ')}`,
        FailureType.ArgoCdSyncFailed,
      );
    }
    if (afterSync) await afterSync(await read(on));
    // Synced at the desired revisions and Healthy, and still so a grace period after the sync ended.
    const graceMs = durationMs(spec.healthyGrace);
    for (;;) {
      await waitOn(
        on,
        deadline,
        (a) => {
          if (!a) throw ApplicationFailure.nonRetryable(`${label} was deleted`, FailureType.ArgoCd);
          const view = settledView(a, desired);
          if (view && 'failed' in view)
            throw ApplicationFailure.nonRetryable(`${label}: ${view.failed}`, FailureType.VerifyFailed);
          return view;
        },
        `${label} to be Synced at ${desired.revisions.join(', ')} and Healthy`,
      );
      const settleAt = Date.parse(ended.finishedAt ?? '') + graceMs;
      const wait = Number.isNaN(settleAt) ? graceMs : settleAt - Date.now();
      if (wait > 0) await sleep(Math.min(wait, Math.max(0, deadline - Date.now())));
      app = await read(on);
      const view = settledView(app, desired);
      if (view && 'failed' in view)
        throw ApplicationFailure.nonRetryable(`${label}: ${view.failed}`, FailureType.VerifyFailed);
      if (view) break;
      if (Date.now() >= deadline) {
        throw ApplicationFailure.nonRetryable(`${label} did not settle: ${describeState(app)}`, FailureType.Timeout);
      }
    }
    return { revision: lastRevision(app) ?? 0, resumed };
  }

  /**
   * The step's time ran out while our operation was queued or running: it made no progress (a hook that
   * never completes, a controller that never picks it up). It is ended as `argocd app terminate-op` ends
   * one, so it does not go on applying behind the rollout's back or hold up the rollback, and the cluster
   * fails saying what it was waiting for. Any other failure passes through.
   */
  async function terminateStuck(on: ReleaseOn, mark: string, err: unknown): Promise<never> {
    if (!(err instanceof ApplicationFailure) || err.type !== FailureType.Timeout) throw err;
    const { kube, path, label } = appRef(on);
    for (let tries = 0; tries < 5; tries++) {
      const app = await read(on);
      const stuck = describeState(app);
      const patch = terminationPatch(app, mark);
      if (!patch && operationView(app, mark).kind !== 'ours-running') throw err;
      if (patch) {
        const written = await kube.objects.mergePatchRaw(path, patch).catch((e: unknown) => {
          if (isConflict(e)) return undefined;
          throw classify(e, `terminate the rollout's operation on ${label}`);
        });
        if (!written) continue;
      }
      // Bounded: the controller ends a terminating operation within moments, or it is reported as asked.
      const ended = await waitOn(
        on,
        Date.now() + terminateWaitMs,
        (a) => (a && operationView(a, mark).kind === 'ours-running' ? undefined : (a ?? null)),
        `its stuck sync of ${label} to terminate`,
      ).then(
        (a) => (a ? describeState(a) : 'deleted'),
        () => undefined,
      );
      throw ApplicationFailure.nonRetryable(
        `Argo CD's sync of ${label} made no progress within ${on.release.timeout} (${stuck}); ` +
          (ended ? `the rollout terminated it (${ended})` : 'the rollout asked Argo CD to terminate it'),
        FailureType.ArgoCdSyncStuck,
      );
    }
    throw err;
  }

  /**
   * Where a recorded (or synced) set of sources took its values: the config repository at its revision, as
   * a pinned source (with the rollout's credential when it is the same repository), and the value files.
   */
  function recordedValues(on: ReleaseOn, sources: readonly ApplicationSource[], revisions: readonly string[]) {
    const values = sources.findIndex((s) => s.ref === 'values');
    const chart = sources.find((s) => s.chart !== undefined);
    const commit = values < 0 ? '' : (revisions[values] ?? '');
    const repo = sources[values]?.repoURL ?? '';
    const files = (chart?.helm?.valueFiles ?? [])
      .filter((f) => f.startsWith('$values/'))
      .map((f) => f.slice('$values/'.length));
    const credential = on.source?.kind === 'git' && on.source.url === repo ? on.source.credential : undefined;
    const source: PinnedSource = {
      kind: 'git',
      url: repo,
      ref: commit,
      commit,
      path: '.',
      ...(credential ? { credential } : {}),
    };
    return { source, files, commit, hasChart: chart !== undefined };
  }

  /** The values digest of what a revision recorded: its values files read from the config repository at its commit. */
  async function digestOf(
    on: ReleaseOn,
    sources: readonly ApplicationSource[],
    revisions: readonly string[],
  ): Promise<string> {
    const { source, files, commit, hasChart } = recordedValues(on, sources, revisions);
    if (!hasChart || !commit) return '';
    return (await pinnedValues(deps.files, source, { values: files })).digest;
  }

  async function snapshot(on: ReleaseOn): Promise<ReleaseSnapshot | null> {
    const app = await read(on);
    const last = app.status?.history?.at(-1);
    if (!last) return null;
    const sources = last.sources ?? currentSources(app);
    const revisions = last.revisions ?? (last.revision ? [last.revision] : []);
    const chartAt = sources.findIndex((s) => s.chart !== undefined);
    return {
      revision: last.id,
      chartVersion: revisions[chartAt] ?? '',
      valuesDigest: await digestOf(on, sources, revisions),
    };
  }

  async function upgrade(input: ReleaseUpgrade): Promise<UpgradeOutcome> {
    const source = gitSource(input.source, input.release);
    const app = await read(input);
    await requireOwnership(input, app);
    const refs = [...input.release.values, ...(input.overlay ? [input.overlay] : [])];
    const desired = desiredState(app, input.release, input.version, source, refs);
    const digest = (await pinnedValues(deps.files, source, input.release, input.overlay)).digest;
    const mark = changeMark(input.rolloutId, input.cluster, input.component, desired.revisions);
    if (
      operationView(app, mark).kind === 'none' &&
      // Settled implies the sources are the desired ones (other sources fail the view).
      'healthy' in (settledView(app, desired) ?? {})
    ) {
      return {
        changed: false,
        resumed: movedBy(app) === input.rolloutId,
        revision: lastRevision(app) ?? 0,
        chartVersion: input.version,
        valuesDigest: digest,
      };
    }
    const moved = await move(input, desired, mark, input.rolloutId);
    return {
      changed: !moved.resumed,
      resumed: moved.resumed,
      revision: moved.revision,
      chartVersion: input.version,
      valuesDigest: digest,
    };
  }

  async function rollback(
    input: ReleaseOn & { to: ReleaseSnapshot | null; rolloutId: string },
  ): Promise<{ changed: boolean; revision: number | null }> {
    const { label } = appRef(input);
    if (!input.to) {
      throw ApplicationFailure.nonRetryable(
        `${label} had never synced before the rollout: there is no revision to return it to, and the rollout does not delete Applications; a person decides`,
        FailureType.ReleaseMissing,
      );
    }
    const app = await read(input);
    const entry = app.status?.history?.find((h) => h.id === input.to?.revision);
    if (!entry) {
      throw ApplicationFailure.nonRetryable(
        `${label} no longer records revision ${input.to.revision} in its history (spec.revisionHistoryLimit); cannot roll back to it`,
        FailureType.ReleaseMissing,
      );
    }
    const revisions = entry.revisions ?? (entry.revision ? [entry.revision] : []);
    const sources = (entry.sources ?? currentSources(app)).map((s, i) => ({
      ...s,
      targetRevision: revisions[i] ?? s.targetRevision,
    }));
    const desired: DesiredState = { sources, revisions };
    const mark = changeMark(input.rolloutId, input.cluster, `rollback-${input.to.revision}`, revisions);
    if (operationView(app, mark).kind === 'none' && 'healthy' in (settledView(app, desired) ?? {})) {
      return { changed: false, revision: lastRevision(app) ?? null };
    }
    // A StatefulSet pod stuck not Ready on the bad revision is not replaced by its controller (nor by Argo
    // CD): on the workload cluster, with its own context, as the Helm driver does.
    const unstickOn = (a: Application) =>
      unstick(
        deps.kube(input.context),
        (a.status?.resources ?? [])
          .filter((r) => r.kind === 'StatefulSet' && r.group === 'apps')
          .map((r) => ({ namespace: r.namespace ?? input.release.namespace, name: r.name })),
      );
    const moved = await move(input, desired, mark, input.rolloutId, unstickOn);
    return { changed: !moved.resumed, revision: moved.revision };
  }

  /** The objects the Application's synced sources declare, rendered by Helm as Argo CD renders a Helm chart. */
  async function declared(on: ReleaseOn): Promise<string | undefined> {
    const app = await read(on);
    const revisions = syncedRevisions(app);
    const sources = currentSources(app);
    const chartAt = sources.findIndex((s) => s.chart !== undefined);
    const version = revisions[chartAt];
    if (chartAt < 0 || !version || app.status?.sync?.status === 'Unknown') return undefined;
    const chart = sources[chartAt] as ApplicationSource;
    const { source: at, files, commit } = recordedValues(on, sources, revisions);
    const dir = await mkdtemp(join(tmpdir(), 'phased-rollout-argocd-'));
    try {
      const release: ReleaseSpec = {
        ...on.release,
        chart: chart.chart ?? on.release.chart,
        repository: chart.repoURL,
      };
      const render = await deps.helm.renderer(release, version, at, dir);
      const paths = commit ? await Promise.all(files.map((f) => deps.files.path(at, f))) : [];
      return await render(paths);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function running(on: ReleaseOn): Promise<RunningRelease | undefined> {
    const app = await read(on);
    const revisions = syncedRevisions(app);
    const sources = currentSources(app);
    const chartAt = sources.findIndex((s) => s.chart !== undefined);
    const sync = app.status?.sync?.status ?? 'Unknown';
    const health = app.status?.health?.status ?? 'Unknown';
    const by = movedBy(app);
    return {
      version: revisions[chartAt] ?? sources[chartAt]?.targetRevision,
      revision: lastRevision(app),
      // OutOfSync is drift: the fleet shows Argo CD's own words.
      status: `${sync}/${health}`,
      valuesDigest: await digestOf(on, sources, revisions),
      ...(by ? { changedBy: by } : {}),
    };
  }

  return {
    snapshot,
    upgrade,
    rollback,
    declared,
    renderer: (release, version, source, dir) => deps.helm.renderer(release, version, source, dir),
    crds: (release, version, source, dir) => deps.helm.crds(release, version, source, dir),
    running,
  };
}

function lastRevision(app: Application): number | undefined {
  return app.status?.history?.at(-1)?.id;
}

function sleep(ms: number): Promise<void> {
  const signal = Context.current().cancellationSignal;
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    });
  });
}

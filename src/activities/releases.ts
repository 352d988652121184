import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { PatchStrategy, setHeaderOptions, type V1Secret, type V1StatefulSet } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { ClusterSnapshot, PinnedSource, ReleaseSnapshot } from '../domain/types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import { durationMs } from '../plan/duration.js';
import { isLocalChart } from '../plan/resolve.js';
import type {
  RollbackReleaseInput,
  RollbackReleaseResult,
  SnapshotInput,
  UpgradeReleaseInput,
  UpgradeReleaseResult,
} from './contracts.js';
import {
  helmReleaseSecret,
  mergeValues,
  rolledBackByAnnotation,
  valuesDigest,
  type HelmClient,
  type HelmRelease,
} from './helm.js';
import { clusterStep, stepDeadline } from './context.js';
import type { SourceFiles } from './source.js';
import { FailureType } from '../domain/failure-types.js';
import { classify, isNotFound } from './kube-errors.js';
import { waitForObjects } from './kube-wait.js';
import { isPodReady, podsOf, type KubeFactory } from './kube.js';

export interface ReleaseDeps {
  helm: HelmClient;
  kube: KubeFactory;
  /** The pinned release source's files on this machine. */
  files: SourceFiles;
  /** How long a release left pending by another client may settle before it counts as abandoned. */
  pendingGraceMs?: number;
}

/** Helm release activities: snapshot, idempotent upgrade, rollback to a snapshot. */
export function createReleaseActivities(deps: ReleaseDeps) {
  const { helm } = deps;

  async function snapshotOf(context: string, name: string, namespace: string): Promise<ReleaseSnapshot | null> {
    const status = await helm.latest(context, name, namespace);
    if (!status) return null;
    let revision = status.revision;
    let chartVersion = status.chartVersion;
    if (status.status !== 'deployed') {
      // The current revision failed or is pending: the place to return to is the last one that deployed.
      const good = (await helm.history(context, name, namespace))
        .filter((h) => h.status === 'deployed' || h.status === 'superseded')
        .pop();
      if (!good) return null;
      revision = good.revision;
      chartVersion = good.chartVersion;
    }
    return {
      revision,
      chartVersion,
      valuesDigest: await helm.valuesDigest(context, name, namespace, revision),
    };
  }

  /**
   * A release left pending-install/-upgrade/-rollback by an interrupted client blocks every later helm
   * command ("another operation is in progress"). Give a live client a grace period to finish (watching
   * Helm's release Secrets), then drop the abandoned pending revision so the release is back where it was.
   */
  async function settlePending(context: string, release: HelmRelease): Promise<HelmRelease | undefined> {
    const kube = deps.kube(context);
    const secretName = helmReleaseSecret(release.name, release.revision);
    const settled = await waitForObjects<V1Secret, string>({
      kube,
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: release.namespace,
      fieldSelector: `metadata.name=${secretName}`,
      check: (items) => {
        const status = items[0]?.metadata?.labels?.['status'];
        return status && !status.startsWith('pending-') ? status : items.length === 0 ? 'gone' : undefined;
      },
      deadline: Date.now() + (deps.pendingGraceMs ?? 20_000),
      signal: Context.current().cancellationSignal,
      describe: () => `${secretName} to leave its pending state`,
    }).catch((err: unknown) => {
      if (err instanceof ApplicationFailure && err.type === FailureType.Timeout) return undefined;
      throw err;
    });
    if (settled === undefined) {
      Context.current().log.warn('dropping abandoned pending Helm revision', { context, secret: secretName });
      try {
        await kube.core.deleteNamespacedSecret({ name: secretName, namespace: release.namespace });
      } catch (err) {
        if (!isNotFound(err)) throw classify(err, `delete ${release.namespace}/${secretName} on ${context}`);
      }
    }
    return helm.latest(context, release.name, release.namespace);
  }

  async function currentRelease(context: string, name: string, namespace: string) {
    const status = await helm.latest(context, name, namespace);
    return status?.status.startsWith('pending-') ? settlePending(context, status) : status;
  }

  /**
   * Kubernetes' "forced rollback": a StatefulSet whose pod never became Ready on the bad revision will
   * not replace that pod after the rollback; its pods on another revision that are not Ready are deleted
   * so the controller recreates them from the restored template.
   */
  async function unstickStatefulSets(context: string, name: string, namespace: string): Promise<void> {
    const kube = deps.kube(context);
    const sets = (await helm.manifest(context, name, namespace)).filter(
      (o): o is V1StatefulSet => o.kind === 'StatefulSet',
    );
    for (const declared of sets) {
      const ns = declared.metadata?.namespace ?? namespace;
      const stsName = declared.metadata?.name ?? '';
      const sts = await waitForObjects<V1StatefulSet, V1StatefulSet>({
        kube,
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        namespace: ns,
        fieldSelector: `metadata.name=${stsName}`,
        check: ([s]) => (s && (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0) ? s : undefined),
        deadline: Date.now() + 60_000,
        signal: Context.current().cancellationSignal,
        describe: () => `StatefulSet ${ns}/${stsName} on ${context} to observe the rollback`,
      });
      const { pods } = await podsOf(kube, sts, ns, `StatefulSet ${ns}/${stsName} on ${context}`);
      for (const pod of pods) {
        const stale = pod.metadata?.labels?.['controller-revision-hash'] !== sts.status?.updateRevision;
        if (stale && !isPodReady(pod)) {
          Context.current().log.info('deleting stuck StatefulSet pod for the rollback', { pod: pod.metadata?.name });
          await kube.core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: ns }).catch((e: unknown) => {
            if (!isNotFound(e)) throw classify(e, `delete pod ${ns}/${pod.metadata?.name} on ${context}`);
          });
        }
      }
    }
  }

  /** Helm's description of the revisions this tool makes: names the rollout, for `helm history` and resumption. */
  const madeBy = (rolloutId: string) => `phased-rollout: ${rolloutId}`;

  async function upgrade(input: UpgradeReleaseInput): Promise<UpgradeReleaseResult> {
    const { release, context, source } = input;
    const { paths: files, digest } = await pinnedValues(deps.files, source, release, input.overlay);
    const chartRef = isLocalChart(release.chart) ? await deps.files.path(source, release.chart) : release.chart;
    if (isLocalChart(release.chart)) await requireLocalVersion(chartRef, input.version);

    const current = await currentRelease(context, release.releaseName, release.namespace);
    if (current?.status === 'deployed' && sameVersion(current.chartVersion, input.version)) {
      const deployedDigest = await helm.valuesDigest(context, release.releaseName, release.namespace);
      if (deployedDigest === digest) {
        return {
          changed: false,
          resumed: current.description === madeBy(input.rolloutId),
          revision: current.revision,
          chartVersion: current.chartVersion,
          valuesDigest: digest,
        };
      }
    }
    const done = await helm.upgrade(context, {
      release: release.releaseName,
      namespace: release.namespace,
      chart: chartRef,
      version: isLocalChart(release.chart) ? undefined : input.version,
      repository: release.repository,
      valuesFiles: files,
      timeoutSeconds: Math.round(durationMs(release.timeout) / 1000),
      description: madeBy(input.rolloutId),
    });
    return {
      changed: true,
      revision: done.revision,
      chartVersion: done.chartVersion ?? input.version,
      valuesDigest: digest,
    };
  }

  async function rollback(input: RollbackReleaseInput): Promise<RollbackReleaseResult> {
    const { release, context, to } = input;
    const current = await currentRelease(context, release.releaseName, release.namespace);
    if (to === null) {
      if (!current) return { changed: false, revision: null };
      await helm.uninstall(context, release.releaseName, release.namespace);
      return { changed: true, revision: null };
    }
    if (!current) {
      throw ApplicationFailure.nonRetryable(
        `${release.namespace}/${release.releaseName} on ${context} is gone; cannot roll back to revision ${to.revision}`,
        FailureType.ReleaseMissing,
      );
    }
    if (current.status === 'deployed' && sameVersion(current.chartVersion, to.chartVersion)) {
      const digest = await helm.valuesDigest(context, release.releaseName, release.namespace);
      if (digest === to.valuesDigest) {
        // This rollout's own rollback, when an earlier attempt made it and stopped before recording it.
        if (current.description === `Rollback to ${to.revision}`) await markRollback(input, current.revision);
        return { changed: false, revision: current.revision };
      }
    }
    const seconds = Math.round(durationMs(release.timeout) / 1000);
    await helm.rollback(context, release.releaseName, release.namespace, to.revision, seconds);
    await unstickStatefulSets(context, release.releaseName, release.namespace);
    const after = await helm.latest(context, release.releaseName, release.namespace);
    if (after) await markRollback(input, after.revision);
    return { changed: true, revision: after?.revision ?? null };
  }

  /**
   * Records on the revision a rollback made (Helm describes it only "Rollback to N", and `helm rollback`
   * takes no description) which rollout made it, as an annotation of Helm's release Secret, so the fleet
   * knows the tool's own rollbacks from a person's. Helm keeps releases in Secrets by default; with another
   * storage driver there is no Secret, and the fleet shows the revision as not made by a rollout.
   */
  async function markRollback(input: RollbackReleaseInput, revision: number): Promise<void> {
    const name = helmReleaseSecret(input.release.releaseName, revision);
    const patch = { metadata: { annotations: { [rolledBackByAnnotation]: input.rolloutId } } };
    await deps
      .kube(input.context)
      .core.patchNamespacedSecret(
        { name, namespace: input.release.namespace, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch((err: unknown) => {
        if (isNotFound(err)) return;
        throw classify(err, `record the rollback on Secret ${input.release.namespace}/${name} in ${input.context}`);
      });
  }

  return {
    snapshotCluster: (input: SnapshotInput): Promise<ClusterSnapshot> =>
      clusterStep(input, stepDeadline(input.timeout), async () => {
        const [operator, chart] = [
          await snapshotOf(input.context, input.operator.releaseName, input.operator.namespace),
          await snapshotOf(input.context, input.chart.releaseName, input.chart.namespace),
        ];
        return { operator, chart, takenAt: new Date().toISOString() };
      }),

    upgradeRelease: (input: UpgradeReleaseInput): Promise<UpgradeReleaseResult> =>
      clusterStep(input, stepDeadline(input.release.timeout), () => upgrade(input)),

    rollbackRelease: (input: RollbackReleaseInput): Promise<RollbackReleaseResult> =>
      clusterStep(input, stepDeadline(input.timeout), () => rollback(input)),
  };
}

function sameVersion(a: string, b: string): boolean {
  return a.replace(/^v/, '') === b.replace(/^v/, '');
}

/**
 * A release's values for one cluster from the pinned source: the files (base values, then the overlay)
 * as paths on this machine, and the digest of their merge, which is what Helm's user-supplied values of a
 * revision made from them digest to.
 */
export async function pinnedValues(
  files: SourceFiles,
  source: PinnedSource,
  release: Pick<ReleaseSpec, 'values'>,
  overlay?: string,
): Promise<{ paths: string[]; digest: string }> {
  const refs = [...release.values, ...(overlay ? [overlay] : [])];
  const paths = await Promise.all(refs.map((f) => files.path(source, f)));
  return { paths, digest: valuesDigest(mergeValues(await Promise.all(paths.map(readValues)))) };
}

export async function readValues(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `values file ${file} cannot be read on the worker: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      FailureType.ValuesFile,
    );
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `values file ${file} is not valid YAML: ${(err as Error).message}`,
      FailureType.ValuesFile,
    );
  }
}

/** Helm ignores --version for a local chart, so the chart on disk must be the version asked for. */
export async function requireLocalVersion(chartDir: string, version: string): Promise<void> {
  let meta: { version?: string };
  try {
    meta = parseYaml(await readFile(resolve(chartDir, 'Chart.yaml'), 'utf8')) as { version?: string };
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `local chart ${chartDir} cannot be read: ${(err as Error).message}`,
      FailureType.LocalChart,
    );
  }
  if (!sameVersion(String(meta.version), version)) {
    throw ApplicationFailure.nonRetryable(
      `local chart ${chartDir} is version ${meta.version}, not ${version}; publish ${version} to a chart repository or point the plan at it`,
      FailureType.LocalChart,
    );
  }
}

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { PatchStrategy, setHeaderOptions, type V1Secret, type V1StatefulSet } from '@kubernetes/client-node';
import type { ReleaseSnapshot } from '../../domain/types.js';
import { FailureType } from '../../domain/failure-types.js';
import { durationMs } from '../../plan/duration.js';
import type { ReleaseSpec } from '../../plan/schema.js';
import { helmReleaseSecret, rolledBackByAnnotation, type HelmClient, type HelmRelease } from '../../adapters/helm.js';
import { classify, isNotFound } from '../../adapters/kube-errors.js';
import { waitForObjects } from '../../adapters/kube-wait.js';
import type { KubeFactory } from '../../adapters/kube.js';
import type { SourceFiles } from '../../adapters/source.js';
import type { ReleaseDriver, ReleaseOn, ReleaseUpgrade, UpgradeOutcome, RunningRelease } from '../driver.js';
import { pinnedValues } from '../values.js';
import { chartAt, sameVersion } from './charts.js';
import { applyCrds, parseCrds } from '../../adapters/crds.js';
import { unstick } from '../statefulsets.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReleaseDeps {
  helm: HelmClient;
  kube: KubeFactory;
  /** The pinned release source's files on this machine. */
  files: SourceFiles;
  /** How long a release left pending by another client may settle before it counts as abandoned. */
  pendingGraceMs?: number;
}

/**
 * Releases as Helm makes them: `helm upgrade --install` with the pinned values (idempotent: a release
 * already at the version with the same values is left alone), `helm rollback` to the snapshot's revision
 * (or uninstall when there was none), and reads of Helm's own record (`helm get manifest`, `helm history`,
 * the release Secrets). Each revision this tool makes is described `phased-rollout: <rollout>`.
 */
export function createHelmDriver(deps: ReleaseDeps): ReleaseDriver {
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
    const sets = (await helm.manifest(context, name, namespace))
      .filter((o): o is V1StatefulSet => o.kind === 'StatefulSet')
      .map((o) => ({ namespace: o.metadata?.namespace ?? namespace, name: o.metadata?.name ?? '' }));
    await unstick(deps.kube(context), sets);
  }

  async function upgrade(input: ReleaseUpgrade): Promise<UpgradeOutcome> {
    const dir = await mkdtemp(join(tmpdir(), 'rollout-upgrade-'));
    try {
      return await upgradeFrom(input, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The upgrade, with the chart fetched once into `dir`: its CRDs (checked, then applied unless the plan
   * says `crds: skip`) and the release come from the same archive, the version the rollout rolls.
   */
  async function upgradeFrom(input: ReleaseUpgrade, dir: string): Promise<UpgradeOutcome> {
    const { release, context, source } = input;
    const { paths: files, digest } = await pinnedValues(deps.files, source, release, input.overlay);
    const chartRef = await chartAt(deps, release, input.version, source, dir);
    if (release.crds !== 'skip') {
      const crds = parseCrds(await helm.showCrds(chartRef));
      const deadline = Date.now() + durationMs(release.timeout);
      await applyCrds(deps.kube(context), crds, deadline, Context.current().cancellationSignal);
    }

    const current = await currentRelease(context, release.releaseName, release.namespace);
    if (current?.status === 'deployed' && sameVersion(current.chartVersion, input.version)) {
      const deployedDigest = await helm.valuesDigest(context, release.releaseName, release.namespace);
      if (deployedDigest === digest) {
        return {
          changed: false,
          resumed: rolloutOf(current.description) === input.rolloutId,
          revision: current.revision,
          chartVersion: current.chartVersion,
          valuesDigest: digest,
        };
      }
    }
    const done = await helm.upgrade(context, {
      release: release.releaseName,
      namespace: release.namespace,
      // The archive fetched above (or the local chart, checked to be this version): no --version, no --repo.
      chart: chartRef,
      valuesFiles: files,
      timeoutSeconds: Math.round(durationMs(release.timeout) / 1000),
      description: madeBy(input.rolloutId, input.component, input.version),
    });
    return {
      changed: true,
      revision: done.revision,
      chartVersion: done.chartVersion ?? input.version,
      valuesDigest: digest,
    };
  }

  async function rollback(input: ReleaseOn & { to: ReleaseSnapshot | null; rolloutId: string }) {
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
        // This rollout's own rollback, made by an earlier attempt that stopped before it was done (its
        // stuck StatefulSet pods not yet replaced, e.g. refused the delete; or not yet recorded): finish it.
        if (current.description === `Rollback to ${to.revision}`) {
          await unstickStatefulSets(context, release.releaseName, release.namespace);
          await markRollback(input, current.revision);
        }
        return { changed: false, revision: current.revision as number | null };
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
  async function markRollback(input: ReleaseOn & { rolloutId: string }, revision: number): Promise<void> {
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

  /** Which rollout made a revision: its description, or for a rollback the annotation the rollout left. */
  async function changedBy(context: string, spec: ReleaseSpec, now: HelmRelease): Promise<string | undefined> {
    if (!/^Rollback to \d+$/.test(now.description ?? '')) return rolloutOf(now.description);
    const secret = await deps
      .kube(context)
      .core.readNamespacedSecret({ name: helmReleaseSecret(spec.releaseName, now.revision), namespace: spec.namespace })
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined; // another storage driver than Secrets: no record to read
        throw classify(err, `read the release Secret of ${spec.namespace}/${spec.releaseName} in ${context}`);
      });
    const by = secret?.metadata?.annotations?.[rolledBackByAnnotation];
    return by ? `${by} (rollback)` : undefined;
  }

  return {
    snapshot: ({ context, release }) => snapshotOf(context, release.releaseName, release.namespace),
    upgrade,
    rollback,
    declared: ({ context, release }) => helm.manifestText(context, release.releaseName, release.namespace),
    async renderer(release, version, source, dir) {
      const chart = await chartAt(deps, release, version, source, dir);
      return (valuesFiles, capabilities, opts = {}) =>
        helm.template(release.releaseName, chart, release.namespace, valuesFiles, {
          noHooks: !opts.hooks,
          capabilities,
        });
    },
    async crds(release, version, source, dir) {
      return parseCrds(await helm.showCrds(await chartAt(deps, release, version, source, dir)));
    },
    async running({ context, release }): Promise<RunningRelease | undefined> {
      const now = await helm.latest(context, release.releaseName, release.namespace);
      if (!now) return undefined;
      return {
        version: now.chartVersion,
        revision: now.revision,
        status: now.status,
        valuesDigest: await helm.valuesDigest(context, release.releaseName, release.namespace),
        changedBy: await changedBy(context, release, now),
      };
    },
  };
}

/**
 * Helm's description of the revisions this tool makes: the rollout, the component and its version, for
 * `helm history`, the fleet and resumption ("phased-rollout: rollout-express-2.3.0 (farmer 1.4.1)").
 */
const madeBy = (rolloutId: string, component: string, version: string) =>
  `phased-rollout: ${rolloutId} (${component} ${version})`;

/** The rollout that made a Helm revision, from the description this tool gives its revisions. */
function rolloutOf(description: string | undefined): string | undefined {
  return /^phased-rollout: (.+?)(?: \([^()]*\))?$/.exec(description ?? '')?.[1];
}

/**
 * A deploy mechanism: how a release (the operator, the product's chart) is installed, upgraded, rolled back
 * and read on one cluster. The activities speak only this interface; each mechanism is a folder of its own
 * (`helm/`), chosen by the release's `driver` (as Flagger's canary factory picks a controller by kind).
 * A second mechanism (Argo CD Applications) is a second implementation registered in `drivers`, not edits
 * to the activities, the workflows or the CLI.
 */
import type { FleetRelease, PinnedSource, ReleaseSnapshot } from '../domain/types.js';
import type { ReleaseSpec } from '../plan/schema.js';
import type { ClusterCapabilities } from '../adapters/kube.js';
import type { Crd } from '../domain/crds.js';

/** The mechanisms a plan may name (`spec.release.*.driver`); Helm when unset. */
export const DriverKind = { Helm: 'helm', ArgoCd: 'argocd' } as const;
export type DriverKind = (typeof DriverKind)[keyof typeof DriverKind];

/** A release on one cluster, as the driver's calls name it. */
export interface ReleaseOn {
  /** The plan's name for the cluster (Argo CD names each cluster's Application from it). */
  cluster: string;
  context: string;
  release: ReleaseSpec;
  /** The plan's name: Argo CD moves only Applications handed to it. */
  plan?: string;
  /** The rollout's pinned source, when the caller has it (Argo CD reads recorded values with its credential). */
  source?: PinnedSource;
}

/** Bring a release to `version` with the pinned values (base values, then the cluster's overlay). */
export interface ReleaseUpgrade extends ReleaseOn {
  /** The component of the release this is, recorded with the change. */
  component: string;
  version: string;
  source: PinnedSource;
  overlay?: string;
  /** The rollout making the change, recorded with it so the fleet and a resumption know it. */
  rolloutId: string;
}

export interface UpgradeOutcome {
  /** False when the release already ran this version with these values: nothing was done. */
  changed: boolean;
  /** With changed false: what is in place was made by this rollout (an attempt cut short, resumed). */
  resumed?: boolean;
  revision: number;
  chartVersion: string;
  valuesDigest: string;
}

/**
 * Renders the release at one version: the objects it would declare with these values on a cluster of
 * these capabilities (Helm's defaults when unknown). Without hooks unless asked, as `declared` reads them.
 */
export type Renderer = (
  valuesFiles: string[],
  capabilities?: ClusterCapabilities,
  opts?: { hooks?: boolean },
) => Promise<string>;

/** What runs, for the fleet: version, revision, status, values digest and the rollout that made it. */
export type RunningRelease = Omit<FleetRelease, 'desiredVersion' | 'desiredValues'>;

export interface ReleaseDriver {
  /** Where the release stands now, as a place to return to; null when it is not installed. */
  snapshot(on: ReleaseOn): Promise<ReleaseSnapshot | null>;
  /** Idempotent: a release already at the version with these values is left as it is (`changed: false`). */
  upgrade(input: ReleaseUpgrade): Promise<UpgradeOutcome>;
  /**
   * Returns the release to `to` (null: it did not exist, so it is removed); idempotent. Never deletes what
   * the release cannot recreate (CRDs, persistent volumes).
   */
  rollback(input: ReleaseOn & { to: ReleaseSnapshot | null; rolloutId: string }): Promise<{
    changed: boolean;
    revision: number | null;
  }>;
  /** The objects the release declares now, as YAML documents; undefined when it is not installed. */
  declared(on: ReleaseOn): Promise<string | undefined>;
  /**
   * Gets the release at `version` ready to render (fetches a chart once into `dir`); a version that does
   * not exist is a non-retryable failure saying so.
   */
  renderer(release: ReleaseSpec, version: string, source: PinnedSource, dir: string): Promise<Renderer>;
  /** What runs now; undefined when the release is not installed. */
  running(on: ReleaseOn): Promise<RunningRelease | undefined>;
  /**
   * The CRDs the release brings at `version` that it applies itself before upgrading (Helm: the chart's
   * `crds/`, when the release's `crds` is `apply`), for preflight's check and the diff; the chart is
   * fetched into `dir` once, as `renderer` fetches it.
   */
  crds(release: ReleaseSpec, version: string, source: PinnedSource, dir: string): Promise<Crd[]>;
}

/** Every mechanism, by kind: what the worker's composition root builds. */
export type Drivers = Record<DriverKind, ReleaseDriver>;

/** The driver for a release: the one its plan names, Helm when it names none. */
export function driverFor(drivers: Drivers, release: Pick<ReleaseSpec, 'driver'>): ReleaseDriver {
  return drivers[release.driver ?? DriverKind.Helm];
}

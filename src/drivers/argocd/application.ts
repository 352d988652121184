/**
 * Argo CD Applications as this tool reads and writes them: pure functions from an Application object to
 * the decisions the driver takes (is it ours to move, what its sources must be, which operation is ours,
 * is the change done). No I/O here, so every rule is tested without a cluster.
 */
import { posix } from 'node:path';
import type { PinnedSource } from '../../domain/types.js';
import type { ReleaseSpec } from '../../plan/schema.js';

/** The annotation that hands an Application to a plan: its value is the plan's name. */
export const planAnnotation = 'phased-rollout.io/plan';
/** Set on an Application by each change this tool makes: the rollout, component and version. */
/** The operation info entry that marks a sync as this tool's, with the change it makes. */
export const markInfo = 'phased-rollout.io/change';
export const attemptInfo = 'phased-rollout.io/attempt';

export interface ApplicationSource {
  repoURL: string;
  chart?: string;
  path?: string;
  targetRevision?: string;
  ref?: string;
  helm?: { releaseName?: string; valueFiles?: string[]; [k: string]: unknown };
  [k: string]: unknown;
}

export interface SyncOperation {
  sync?: { revision?: string; revisions?: string[]; [k: string]: unknown };
  info?: { name: string; value: string }[];
  initiatedBy?: { username?: string; automated?: boolean };
  [k: string]: unknown;
}

export interface Application {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; apiVersion: string; uid: string }[];
    resourceVersion?: string;
  };
  spec?: {
    source?: ApplicationSource;
    sources?: ApplicationSource[];
    syncPolicy?: {
      automated?: { prune?: boolean; selfHeal?: boolean; enabled?: boolean } | null;
      syncOptions?: string[];
    };
    ignoreDifferences?: { group?: string; kind: string; name?: string; jsonPointers?: string[] }[];
    [k: string]: unknown;
  };
  operation?: SyncOperation;
  status?: {
    sync?: { status?: string; revision?: string; revisions?: string[] };
    health?: { status?: string; message?: string };
    operationState?: {
      operation?: SyncOperation;
      phase?: string;
      message?: string;
      startedAt?: string;
      finishedAt?: string;
      syncResult?: { revision?: string; revisions?: string[] };
    };
    history?: {
      id: number;
      revision?: string;
      revisions?: string[];
      initiatedBy?: { username?: string; automated?: boolean };
      sources?: ApplicationSource[];
      deployedAt?: string;
    }[];
    resources?: { group?: string; version?: string; kind: string; namespace?: string; name: string }[];
  };
}

/** An ApplicationSet (only what decides whether it rewrites the fields this tool writes). */
export interface ApplicationSet {
  spec?: {
    syncPolicy?: { applicationsSync?: string };
    ignoreApplicationDifferences?: { jsonPointers?: string[]; name?: string }[];
  };
}

/** The Application's name for a cluster, from the plan's template. */
export function applicationName(template: string, cluster: string, release: Pick<ReleaseSpec, 'releaseName'>): string {
  return template.replaceAll('{{cluster}}', cluster).replaceAll('{{releaseName}}', release.releaseName);
}

/** The fields this tool writes: an owner that rewrites them would undo every change it makes. */
export const writtenFields = ['/spec/sources', '/spec/source'] as const;

/** Whether a list of ignored JSON pointers covers the fields this tool writes. */
export function ignoresWrittenFields(pointers: readonly string[]): boolean {
  const covers = (field: string) => pointers.some((p) => p === field || p === '/spec' || p === '');
  return covers('/spec/sources') && covers('/spec/source');
}

/**
 * Why an ApplicationSet owning the Application would revert this tool's changes, or undefined when it
 * would not: it only creates Applications, or it ignores the fields this tool writes for this one.
 */
export function applicationSetProblem(set: ApplicationSet, appName: string, setName: string): string | undefined {
  const policy = set.spec?.syncPolicy?.applicationsSync;
  if (policy === 'create-only' || policy === 'create-delete') return undefined;
  const pointers = (set.spec?.ignoreApplicationDifferences ?? [])
    .filter((d) => d.name === undefined || d.name === appName)
    .flatMap((d) => d.jsonPointers ?? []);
  if (ignoresWrittenFields(pointers)) return undefined;
  return `it is owned by ApplicationSet ${setName}, which rewrites its spec.sources on every reconcile; add ignoreApplicationDifferences with jsonPointers /spec/source and /spec/sources (or set syncPolicy.applicationsSync: create-only) to hand those fields to the rollout`;
}

/**
 * Why a parent Application (app of apps) would revert this tool's changes. Every sync of the parent applies
 * the child's manifest as its repository has it, sources included: with self-heal at once, with auto-sync
 * at the parent's next change. Ignoring the fields in the parent's diff (`ignoreDifferences`) keeps it from
 * reporting drift, but only `RespectIgnoreDifferences=true` keeps its sync from writing them back. A
 * parent synced only by hand is let be (a person syncing it puts the sources back; the docs say so).
 */
export function parentProblem(parent: Application, parentName: string): string | undefined {
  const automated = parent.spec?.syncPolicy?.automated;
  if (!automated || automated.enabled === false) return undefined;
  const pointers = (parent.spec?.ignoreDifferences ?? [])
    .filter((d) => d.kind === 'Application')
    .flatMap((d) => d.jsonPointers ?? []);
  const respects = (parent.spec?.syncPolicy?.syncOptions ?? []).includes('RespectIgnoreDifferences=true');
  if (ignoresWrittenFields(pointers) && respects) return undefined;
  const how = automated.selfHeal ? 'with self-heal on, which reverts' : 'with auto-sync on, whose next sync reverts';
  const fix = ignoresWrittenFields(pointers)
    ? 'add the sync option RespectIgnoreDifferences=true to that parent (its ignoreDifferences alone do not stop its sync from writing them)'
    : 'add ignoreDifferences for kind Application with jsonPointers /spec/source and /spec/sources and the sync option RespectIgnoreDifferences=true to that parent';
  return `it is managed by Application ${parentName} (app of apps) ${how} its spec.sources; ${fix}`;
}

/** The parent Application named by Argo CD's tracking annotation ("APP:GROUP/KIND:NS/NAME"), if any. */
export function trackingParent(app: Application): string | undefined {
  const id = app.metadata?.annotations?.['argocd.argoproj.io/tracking-id'];
  const m = /^([^:]+):argoproj\.io\/Application:/.exec(id ?? '');
  return m?.[1];
}

/** The desired state of one release: the chart at its version, the values from the config repo at its commit. */
export interface DesiredState {
  sources: ApplicationSource[];
  /** The revision of each source, in order: what the sync is given and what must be synced. */
  revisions: string[];
}

/** The value files of the release for one cluster, as Argo CD names them in the config repository. */
export function valueFilesOf(source: Extract<PinnedSource, { kind: 'git' }>, refs: readonly string[]): string[] {
  return refs.map((ref) => `$values/${posix.normalize(posix.join(source.path, ref))}`);
}

/**
 * What the Application's sources must be for a version: a multi-source Application with the chart from
 * its repository at the version and the values from the config repository at the pinned commit (never a
 * branch). Fields of the chart's source this tool does not set (helm parameters, etc.) are kept.
 */
export function desiredState(
  current: Application,
  release: ReleaseSpec,
  version: string,
  source: Extract<PinnedSource, { kind: 'git' }>,
  refs: readonly string[],
): DesiredState {
  const { repoURL, chart } = chartLocation(release);
  const previous = currentSources(current).find((s) => s.chart !== undefined) ?? { repoURL };
  const chartSource: ApplicationSource = {
    ...previous,
    repoURL,
    chart,
    targetRevision: version,
    helm: {
      ...(previous.helm ?? {}),
      releaseName: release.releaseName,
      valueFiles: valueFilesOf(source, refs),
    },
  };
  delete chartSource.ref;
  delete chartSource.path;
  const valuesSource: ApplicationSource = { repoURL: source.url, targetRevision: source.commit, ref: 'values' };
  return { sources: [chartSource, valuesSource], revisions: [version, source.commit] };
}

/** Where Argo CD fetches the chart: a classic repository and a name, or an OCI registry path and a name. */
export function chartLocation(release: Pick<ReleaseSpec, 'chart' | 'repository'>): { repoURL: string; chart: string } {
  if (release.repository) return { repoURL: release.repository, chart: release.chart };
  const ref = release.chart.replace(/^oci:\/\//, '');
  const at = ref.lastIndexOf('/');
  return { repoURL: ref.slice(0, at), chart: ref.slice(at + 1) };
}

/** The Application's sources, single or multiple, as a list. */
export function currentSources(app: Application): ApplicationSource[] {
  return app.spec?.sources ?? (app.spec?.source ? [app.spec.source] : []);
}

/** Whether two source lists are the same, key by key (order of keys aside). */
export function sameSources(a: readonly ApplicationSource[], b: readonly ApplicationSource[]): boolean {
  return a.length === b.length && a.every((s, i) => stableJson(s) === stableJson(b[i]));
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The mark of one change on one Application: the same on every attempt of it, so a retry finds its own. */
export function changeMark(
  rolloutId: string,
  cluster: string,
  component: string,
  revisions: readonly string[],
): string {
  return `${rolloutId}/${cluster}/${component}@${revisions.join(',')}`;
}

const infoOf = (op: SyncOperation | undefined, name: string) => op?.info?.find((i) => i.name === name)?.value;

/** Where the Application's operations stand, as the sync protocol needs to know it. */
export type OperationView =
  | { kind: 'none' }
  /** Another client's operation (auto-sync, a person) is queued or running: wait for it to end. */
  | { kind: 'foreign-running'; by: string }
  /** Our marked operation is queued or running. */
  | { kind: 'ours-running' }
  | { kind: 'ours-done'; phase: string; message: string; revisions: string[]; finishedAt?: string };

export function operationView(app: Application, mark: string): OperationView {
  const pending = app.operation;
  if (pending) {
    return infoOf(pending, markInfo) === mark
      ? { kind: 'ours-running' }
      : { kind: 'foreign-running', by: initiator(pending) };
  }
  const state = app.status?.operationState;
  if (!state) return { kind: 'none' };
  const ours = infoOf(state.operation, markInfo) === mark;
  const running = state.phase === 'Running' || state.phase === 'Terminating';
  if (running) return ours ? { kind: 'ours-running' } : { kind: 'foreign-running', by: initiator(state.operation) };
  if (!ours) return { kind: 'none' };
  return {
    kind: 'ours-done',
    phase: state.phase ?? 'Unknown',
    message: state.message ?? '',
    revisions: state.syncResult?.revisions ?? (state.syncResult?.revision ? [state.syncResult.revision] : []),
    finishedAt: state.finishedAt,
  };
}

/**
 * How to end our own operation that made no progress before the step's deadline, as `argocd app
 * terminate-op` does: a running one is asked to terminate (its phase set to Terminating; the controller
 * stops it and records it Failed); one still queued (never picked up) is taken back. Undefined when no
 * operation of ours is queued or running, or it is terminating already.
 */
export function terminationPatch(app: Application, mark: string): object | undefined {
  if (operationView(app, mark).kind !== 'ours-running') return undefined;
  const state = app.status?.operationState;
  const resourceVersion = app.metadata?.resourceVersion;
  if (state?.phase === 'Terminating') return undefined;
  if (state?.phase === 'Running' && infoOf(state.operation, markInfo) === mark) {
    return { metadata: { resourceVersion }, status: { operationState: { phase: 'Terminating' } } };
  }
  return { metadata: { resourceVersion }, operation: null };
}

/**
 * The rollout that last moved the Application, from who Argo CD's last history entry says started that
 * sync (`phased-rollout <rollout ID>`); undefined when a person or auto-sync did. Read from Argo CD's own
 * record rather than an annotation of ours: an ApplicationSet that owns the Application rewrites its
 * annotations.
 */
export function movedBy(app: Application): string | undefined {
  const by = app.status?.history?.at(-1)?.initiatedBy?.username ?? '';
  return by.startsWith('phased-rollout ') ? by.slice('phased-rollout '.length) : undefined;
}

function initiator(op: SyncOperation | undefined): string {
  if (!op?.initiatedBy) return 'another client';
  return op.initiatedBy.automated ? 'auto-sync' : (op.initiatedBy.username ?? 'another client');
}

/**
 * The sync this tool asks for: the revisions written out (never empty: an empty one lets Argo CD re-apply
 * whatever it resolved last), the sync options of the Application's own policy (they are not applied to
 * an operation otherwise), pruning as its policy says, marked with the change and the attempt.
 */
export function syncOperation(
  app: Application,
  desired: DesiredState,
  mark: string,
  attempt: number,
  rolloutId: string,
): SyncOperation {
  const automated = app.spec?.syncPolicy?.automated;
  return {
    // Argo CD keeps who started a sync in its history: the rollout, by ID.
    initiatedBy: { username: `phased-rollout ${rolloutId}` },
    info: [
      { name: markInfo, value: mark },
      { name: attemptInfo, value: String(attempt) },
    ],
    sync: {
      revisions: desired.revisions,
      prune: automated?.prune ?? false,
      syncOptions: app.spec?.syncPolicy?.syncOptions ?? [],
    },
  };
}

/** The revisions Argo CD reports as synced now (multi-source: one per source). */
export function syncedRevisions(app: Application): string[] {
  const s = app.status?.sync;
  return s?.revisions ?? (s?.revision ? [s.revision] : []);
}

/** Whether revisions match, comparing chart versions with or without a leading "v". */
export function sameRevisions(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r.replace(/^v/, '') === (b[i] ?? '').replace(/^v/, ''));
}

/** Where the Application stands after our sync: settled, failed for good, or still moving (undefined). */
export function settledView(
  app: Application,
  desired: DesiredState,
): { healthy: true } | { failed: string } | undefined {
  const sync = app.status?.sync?.status;
  const health = app.status?.health?.status;
  const revisions = syncedRevisions(app);
  if (health === 'Degraded') {
    return {
      failed: `Argo CD reports it Degraded${app.status?.health?.message ? `: ${app.status.health.message}` : ''}`,
    };
  }
  if (!sameSources(currentSources(app), desired.sources)) {
    return {
      failed: `its spec.sources were changed by someone else during the rollout (now ${describeSources(currentSources(app))}); the rollout does not overwrite a change it did not make`,
    };
  }
  if (sync === 'Synced' && sameRevisions(revisions, desired.revisions) && health === 'Healthy')
    return { healthy: true };
  return undefined;
}

export function describeSources(sources: readonly ApplicationSource[]): string {
  return sources.map((s) => `${s.chart ?? s.path ?? s.ref ?? s.repoURL}@${s.targetRevision ?? 'HEAD'}`).join(', ');
}

/** What `status` shows of an Application that is not settled, for a timeout's message. */
export function describeState(app: Application | undefined): string {
  if (!app) return 'the Application is gone';
  const st = app.status;
  return `sync ${st?.sync?.status ?? 'unknown'} at ${syncedRevisions(app).join(', ') || 'no revision'}, health ${st?.health?.status ?? 'unknown'}${st?.operationState ? `, last operation ${st.operationState.phase}: ${st.operationState.message ?? ''}` : ''}`;
}

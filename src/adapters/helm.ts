import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import type { ChartRepositories, ChartRepositoryAccess } from './credentials.js';
import { onAbort, Unreachable } from './errors.js';
import type { ClusterCapabilities } from './kube.js';

/** What Helm says of a release (`helm status -o json`), reduced to what rollouts decide on. */
export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chartVersion: string;
  /** The revision's description; revisions this tool makes say which rollout made them. */
  description?: string;
  /** When the revision was made (Helm records it as the upgrade or rollback begins), RFC 3339. */
  updated?: string;
}

interface HelmOptions {
  /** The helm binary. */
  binary: string;
  /** Kubeconfig file the worker uses; credentials never leave this process. */
  kubeconfig?: string;
  /** Called while a helm command runs, so a long upgrade keeps heartbeating. */
  heartbeat?: () => void;
  /** Aborting kills the helm process (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
}

/** An upgrade as `helm upgrade --install` takes it. */
export interface HelmUpgrade {
  release: string;
  namespace: string;
  /** A local path, repo/chart with `repository`, or an oci:// reference. */
  chart: string;
  /** Passed as --version, except for local charts (helm ignores it there). */
  version?: string;
  repository?: string;
  valuesFiles: string[];
  timeoutSeconds: number;
  description: string;
}

/** What a helm command runs under: a heartbeat to send while it runs, and a signal that kills it. */
export type HelmRunContext = () => Pick<HelmOptions, 'heartbeat' | 'signal'>;

/**
 * The one Helm adapter: every helm command the product runs, built once by the worker. Each command runs
 * under `runContext` (the worker passes the current activity's heartbeat and cancellation: a cancelled
 * activity kills helm) and classifies its own failures (see `classifyHelm`). Commands that never touch a
 * cluster (`pull`, `template`) run without a kube context.
 */
export class HelmClient {
  constructor(
    readonly binary: string,
    readonly kubeconfig?: string,
    private readonly runContext: HelmRunContext = () => ({}),
    /** The worker's chart repository settings (ROLLOUT_CREDENTIALS), found by each chart's location. */
    private readonly repositories?: ChartRepositories,
  ) {}

  /** Runs helm under its run context; failures come back classified (`access`: see `classifyHelm`). */
  private run(context: string | undefined, args: string[], access?: string): Promise<string> {
    return this.spawn(context, args).catch((err: unknown) => {
      throw classifyHelm(err, access);
    });
  }

  /**
   * Runs `command` with the arguments that name a chart from a repository: the chart and, for that call
   * alone, what the worker declares for its location (credentials, CA, client certificate, plain HTTP),
   * written to a private temporary folder removed afterwards, never to Helm's shared repository state
   * (which goes stale) nor to the command line (which other processes can read). A classic repository
   * with settings gets its index fetched fresh into that folder first, so a version published a minute
   * ago is found.
   */
  private async withChart<T>(
    chart: string,
    repository: string | undefined,
    command: (chartArgs: string[], access: string) => Promise<T>,
  ): Promise<T> {
    const location = repository ?? (chart.startsWith('oci://') ? chart : undefined);
    if (location === undefined) {
      return command([chart], `the worker's own Helm repository configuration for ${chart}`);
    }
    const settings = await this.repositories?.chartRepository(location);
    if (!settings) {
      const origin = this.repositories?.origin ?? 'no ROLLOUT_CREDENTIALS file';
      return command(
        [chart, ...(repository ? ['--repo', repository] : [])],
        `${location}: no chartRepositories entry applies to it (${origin}), so the worker brought no credentials, CA or certificate of its own`,
      );
    }
    const access = `${location}: the worker applied its chartRepositories entry ${settings.name} (${settings.origin})`;
    const dir = await mkdtemp(join(tmpdir(), 'rollout-helm-'));
    try {
      if (repository === undefined)
        return await command([chart, ...(await registryArgs(dir, chart, settings))], access);
      const config = ['--repository-config', join(dir, 'repositories.yaml'), '--repository-cache', join(dir, 'cache')];
      await writePrivate(join(dir, 'repositories.yaml'), repositoriesFile(repository, settings));
      await this.run(undefined, ['repo', 'update', localRepoName, '--fail-on-repo-update-fail', ...config], access);
      return await command([`${localRepoName}/${chart}`, ...config], access);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Like run, but a release that does not exist answers undefined. */
  private runOrMissing(context: string | undefined, args: string[]): Promise<string | undefined> {
    return this.spawn(context, args).catch((err: unknown) => {
      if (err instanceof HelmError && err.notFound) return undefined;
      throw classifyHelm(err);
    });
  }

  private spawn(context: string | undefined, args: string[]): Promise<string> {
    return runHelm({ binary: this.binary, kubeconfig: this.kubeconfig, ...this.runContext() }, context, args);
  }

  /** A release's revisions, oldest first (`helm history`); empty when the release does not exist. */
  async history(context: string, name: string, namespace: string, max?: number): Promise<HelmRelease[]> {
    const args = ['history', name, '-n', namespace, '-o', 'json', ...(max === undefined ? [] : ['--max', String(max)])];
    const out = await this.runOrMissing(context, args);
    if (out === undefined) return [];
    const revisions = JSON.parse(out) as {
      revision: number;
      status: string;
      chart: string;
      description?: string;
      updated?: string;
    }[];
    return revisions.map((h) => ({
      name,
      namespace,
      revision: h.revision,
      status: h.status,
      chartVersion: chartVersionOf(h.chart),
      description: h.description,
      updated: h.updated,
    }));
  }

  /** The latest revision of a release; undefined when the release does not exist. */
  async latest(context: string, name: string, namespace: string): Promise<HelmRelease | undefined> {
    return (await this.history(context, name, namespace, 1)).pop();
  }

  /** The objects a release's current revision declares (`helm get manifest`), parsed. */
  async manifest(context: string, name: string, namespace: string): Promise<KubernetesObject[]> {
    const text = await this.run(context, ['get', 'manifest', name, '-n', namespace]);
    return parseAllDocuments(text)
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => !!o);
  }

  /** The digest of the user-supplied values of a revision (`helm get values`), the latest by default. */
  async valuesDigest(context: string, name: string, namespace: string, revision?: number): Promise<string> {
    const args = ['get', 'values', name, '-n', namespace, '-o', 'json'];
    if (revision !== undefined) args.push('--revision', String(revision));
    const out = await this.run(context, args);
    return valuesDigest(JSON.parse(out || 'null') ?? {});
  }

  /** `helm upgrade --install`; returns the new revision and the chart version it deployed. */
  async upgrade(context: string, u: HelmUpgrade): Promise<{ revision: number; chartVersion?: string }> {
    const out = await this.withChart(u.chart, u.repository, (chart, access) => {
      const args = ['upgrade', '--install', u.release, ...chart, '-n', u.namespace, '--create-namespace'];
      if (u.version) args.push('--version', u.version);
      args.push('--timeout', `${u.timeoutSeconds}s`, '-o', 'json', '--description', u.description);
      for (const f of u.valuesFiles) args.push('-f', f);
      return this.run(context, args, access);
    });
    const r = JSON.parse(out) as { version: number; chart?: { metadata?: { version?: string } } };
    return { revision: r.version, chartVersion: r.chart?.metadata?.version };
  }

  async rollback(context: string, name: string, namespace: string, revision: number, timeoutSeconds: number) {
    await this.run(context, ['rollback', name, String(revision), '-n', namespace, '--timeout', `${timeoutSeconds}s`]);
  }

  /** `helm uninstall`; a release that is already gone is fine. */
  async uninstall(context: string, name: string, namespace: string): Promise<void> {
    await this.runOrMissing(context, ['uninstall', name, '-n', namespace]);
  }

  /** Downloads a chart at a version into `dir` (`helm pull`). */
  async pull(chart: string, version: string, repository: string | undefined, dir: string): Promise<void> {
    await this.withChart(chart, repository, (args, access) =>
      this.run(undefined, ['pull', ...args, '--version', version, '-d', dir], access),
    );
  }

  /**
   * Renders a chart with values files (`helm template`), touching no cluster. `capabilities` are the
   * target cluster's (`--kube-version`, `--api-versions`), so the chart's kubeVersion constraint and its
   * `.Capabilities` checks see what an upgrade of that cluster sees; without them Helm assumes its own
   * built-in version. `noHooks` leaves out hook objects, as `helm get manifest` does, so the two compare.
   */
  async template(
    release: string,
    chartPath: string,
    namespace: string,
    valuesFiles: string[],
    opts: { noHooks?: boolean; capabilities?: ClusterCapabilities } = {},
  ): Promise<string> {
    const caps = opts.capabilities;
    return this.run(undefined, [
      'template',
      release,
      chartPath,
      '-n',
      namespace,
      ...(opts.noHooks ? ['--no-hooks'] : []),
      ...(caps ? ['--kube-version', caps.kubeVersion, ...caps.apiVersions.flatMap((v) => ['--api-versions', v])] : []),
      ...valuesFiles.flatMap((f) => ['-f', f]),
    ]);
  }

  /** The CRDs in a local chart's `crds/` folder (`helm show crds`), as YAML documents; empty when it has none. */
  async showCrds(chartPath: string): Promise<string> {
    return this.run(undefined, ['show', 'crds', chartPath]);
  }

  /** The manifest of a release's current revision as Helm stored it; undefined when it is not installed. */
  async manifestText(context: string, name: string, namespace: string): Promise<string | undefined> {
    return this.runOrMissing(context, ['get', 'manifest', name, '-n', namespace]);
  }
}

/** The name a classic repository has in the private repository config of one Helm call. */
const localRepoName = 'rollout-chart-repository';

/** Writes a file only this user can read (it may hold a password). */
function writePrivate(path: string, text: string): Promise<void> {
  return writeFile(path, text, { mode: 0o600 });
}

/** A Helm repositories.yaml naming one classic repository with what the worker declares for it. */
function repositoriesFile(url: string, s: ChartRepositoryAccess): string {
  const entry: Record<string, unknown> = { name: localRepoName, url };
  if (s.username) Object.assign(entry, { username: s.username, password: s.password });
  if (s.caFile) entry['caFile'] = s.caFile;
  if (s.certFile) Object.assign(entry, { certFile: s.certFile, keyFile: s.keyFile });
  return stringifyYaml({ apiVersion: '', generated: '0001-01-01T00:00:00Z', repositories: [entry] });
}

/**
 * The flags of one Helm call that pulls from an OCI registry with the worker's settings: its own registry
 * config holding only this registry's credentials (Helm reads docker's config.json format), the CA, the
 * client certificate, plain HTTP.
 */
async function registryArgs(dir: string, chart: string, s: ChartRepositoryAccess): Promise<string[]> {
  const args: string[] = [];
  if (s.username) {
    const file = join(dir, 'registry.json');
    const auth = Buffer.from(`${s.username}:${s.password ?? ''}`).toString('base64');
    await writePrivate(file, JSON.stringify({ auths: { [new URL(chart).host]: { auth } } }));
    args.push('--registry-config', file);
  }
  if (s.caFile) args.push('--ca-file', s.caFile);
  if (s.certFile) args.push('--cert-file', s.certFile, '--key-file', s.keyFile as string);
  if (s.plainHttp) args.push('--plain-http');
  return args;
}

/**
 * Runs helm with the context and kubeconfig (none for commands that never touch a cluster, such as
 * `template` and `pull`); resolves stdout, rejects with helm's own error text.
 */
function runHelm(opts: HelmOptions, context: string | undefined, args: string[]): Promise<string> {
  const target = context === undefined ? [] : ['--kube-context', context];
  const full = [...args, ...target, ...(context && opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(opts.binary, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const beat = opts.heartbeat ? setInterval(opts.heartbeat, 1_000) : undefined;
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    };
    const stopListening = onAbort(opts.signal, kill);
    child.on('error', (err) => reject(new Error(`cannot run helm (${opts.binary}): ${err.message}`)));
    child.on('close', (code) => {
      if (beat) clearInterval(beat);
      stopListening();
      if (code === 0) resolve(stdout);
      else {
        const what = `helm ${args.slice(0, 2).join(' ')}${context === undefined ? '' : ` on ${context}`}`;
        reject(new HelmError(what, code ?? -1, stderr.trim()));
      }
    });
  });
}

export class HelmError extends Error {
  constructor(
    readonly what: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`${what} failed (exit ${exitCode}): ${stderr}`);
    this.name = 'HelmError';
  }

  get notFound(): boolean {
    return /not found/i.test(this.stderr) && !/chart .* not found|no chart version found/i.test(this.stderr);
  }
}

const missingChart = /no chart version found|chart .*not found|not found in .* repository|: not found$/im;
// Helm's words when the cluster or the chart repository does not answer; none of them judges the release.
const unreachable =
  /Kubernetes cluster unreachable|connection refused|connection reset|i\/o timeout|TLS handshake timeout|no such host|http2: client connection lost|the server is currently unable to handle the request|Service Unavailable|Too Many Requests|etcdserver: request timed out|the server was unable to return a response|net\/http: request canceled|unexpected EOF|: EOF$/im;
// A repository or registry that wants credentials the worker does not have, or refuses the ones it has:
// retrying changes nothing.
const accessRefused =
  /: 40[13] (Unauthorized|Forbidden)|status code 40[13]|basic credential not found|unauthorized: authentication required|denied: requested access/i;
// A registry whose certificate the worker does not trust, or that wants a client certificate: a setting
// of the worker's is missing, retrying changes nothing.
const tlsRefused =
  /x509: |tls: failed to verify certificate|certificate required|tls: bad certificate|tls: unknown certificate authority|server gave HTTP response to HTTPS client/i;
const permanent =
  /failed to download|values don't meet the specifications|parse error|template: |unable to build kubernetes objects|is invalid|forbidden|cannot patch|has no deployed releases/i;

/**
 * Classifies a helm failure (`access` says, for a command that reads a chart repository, what the worker
 * sent it, for the message of a refusal): a missing chart or version, invalid values, rendering errors and forbidden
 * are non-retryable; a cluster or repository that does not answer is `Unreachable` (retried until the
 * step's deadline); anything else (conflicts, another operation in progress) is retried by Temporal.
 */
export function classifyHelm(err: unknown, access?: string): Error {
  if (!(err instanceof HelmError)) return err as Error;
  if (missingChart.test(err.stderr)) return ApplicationFailure.nonRetryable(err.message, FailureType.HelmFailed);
  if (accessRefused.test(err.stderr)) {
    return ApplicationFailure.nonRetryable(
      `the chart repository refused the worker (${access ?? 'it asks for credentials the worker does not have, or refuses the ones it has'}): ${err.message}`,
      FailureType.HelmFailed,
    );
  }
  if (tlsRefused.test(err.stderr)) {
    return ApplicationFailure.nonRetryable(
      `the chart repository and the worker do not agree on TLS (${access ?? 'the worker brought no settings of its own for it'}; a private CA is a caFile, a client certificate certFile and keyFile, a registry without TLS plainHttp, in chartRepositories): ${err.message}`,
      FailureType.HelmFailed,
    );
  }
  if (unreachable.test(err.stderr)) return new Unreachable(err.message);
  if (permanent.test(err.stderr)) return ApplicationFailure.nonRetryable(err.message, FailureType.HelmFailed);
  return err;
}

/** The Secret in which Helm (its default storage driver) keeps a revision of a release. */
export function helmReleaseSecret(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`;
}

/** On a revision's Secret: the rollout whose rollback made it (`helm rollback` takes no description). */
export const rolledBackByAnnotation = 'phased-rollout.dev/rolled-back-by';

/** "express-operator-1.2.0" -> "1.2.0": the version is what follows the first dash before a digit. */
export function chartVersionOf(chart: string): string {
  return /^.*?-(v?\d+\.\d+\.\d+.*)$/.exec(chart)?.[1] ?? '';
}

/** A digest of values independent of key order, so equal values always compare equal. */
export function valuesDigest(values: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(values)).digest('hex')}`;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** Merges values files the way `helm -f a -f b` does: maps merge deeply, anything else is replaced. */
export function mergeValues(layers: readonly unknown[]): Record<string, unknown> {
  const merge = (a: unknown, b: unknown): unknown => {
    if (isMap(a) && isMap(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
      return out;
    }
    return b;
  };
  return layers.reduce<Record<string, unknown>>(
    (acc, layer) => (isMap(layer) ? (merge(acc, layer) as Record<string, unknown>) : acc),
    {},
  );
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

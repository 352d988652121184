import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import { Unreachable } from './errors.js';

/** What Helm says of a release (`helm status -o json`), reduced to what rollouts decide on. */
export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chartVersion: string;
  /** The revision's description; revisions this tool makes say which rollout made them. */
  description?: string;
}

export interface HelmOptions {
  /** The helm binary. */
  binary: string;
  /** Kubeconfig file the worker uses; credentials never leave this process. */
  kubeconfig?: string;
  /** Called while a helm command runs, so a long upgrade keeps heartbeating. */
  heartbeat?: () => void;
  /** Aborting kills the helm process (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
}

/**
 * Runs helm with the context and kubeconfig (none for commands that never touch a cluster, such as
 * `template` and `pull`); resolves stdout, rejects with helm's own error text.
 */
export function runHelm(opts: HelmOptions, context: string | undefined, args: string[]): Promise<string> {
  const target = context === undefined ? [] : ['--kube-context', context];
  const full = [...args, ...target, ...(context && opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(opts.binary, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const beat = opts.heartbeat ? setInterval(opts.heartbeat, 5_000) : undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    };
    opts.signal?.addEventListener('abort', onAbort);
    child.on('error', (err) => reject(new Error(`cannot run helm (${opts.binary}): ${err.message}`)));
    child.on('close', (code) => {
      if (beat) clearInterval(beat);
      opts.signal?.removeEventListener('abort', onAbort);
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
const permanent =
  /failed to download|values don't meet the specifications|parse error|template: |unable to build kubernetes objects|is invalid|forbidden|cannot patch|has no deployed releases/i;

/**
 * Classifies a helm failure: a missing chart or version, invalid values, rendering errors and forbidden
 * are non-retryable; a cluster or repository that does not answer is `Unreachable` (retried until the
 * step's deadline); anything else (conflicts, another operation in progress) is retried by Temporal.
 */
export function classifyHelm(err: unknown): Error {
  if (!(err instanceof HelmError)) return err as Error;
  if (missingChart.test(err.stderr)) return ApplicationFailure.nonRetryable(err.message, FailureType.HelmFailed);
  if (unreachable.test(err.stderr)) return new Unreachable(err.message);
  if (permanent.test(err.stderr)) return ApplicationFailure.nonRetryable(err.message, FailureType.HelmFailed);
  return err;
}

/** A release's revisions, oldest first (`helm history -o json`), with the chart version parsed. */
export async function releaseHistory(
  opts: HelmOptions,
  context: string,
  name: string,
  namespace: string,
  max?: number,
): Promise<HelmRelease[]> {
  const args = ['history', name, '-n', namespace, '-o', 'json'];
  if (max !== undefined) args.push('--max', String(max));
  try {
    const out = await runHelm(opts, context, args);
    const revisions = JSON.parse(out) as { revision: number; status: string; chart: string; description?: string }[];
    return revisions.map((h) => ({
      name,
      namespace,
      revision: h.revision,
      status: h.status,
      chartVersion: chartVersionOf(h.chart),
      description: h.description,
    }));
  } catch (err) {
    if (err instanceof HelmError && err.notFound) return [];
    throw classifyHelm(err);
  }
}

/** The latest revision of a release; undefined when the release does not exist. */
export async function releaseStatus(
  opts: HelmOptions,
  context: string,
  name: string,
  namespace: string,
): Promise<HelmRelease | undefined> {
  return (await releaseHistory(opts, context, name, namespace, 1)).pop();
}

/** "express-operator-1.2.0" -> "1.2.0": the version is what follows the first dash before a digit. */
export function chartVersionOf(chart: string): string {
  return /^.*?-(v?\d+\.\d+\.\d+.*)$/.exec(chart)?.[1] ?? '';
}

/** The user-supplied values of a release's revision (`helm get values -o json`), as a digest. */
export async function releaseValuesDigest(
  opts: HelmOptions,
  context: string,
  name: string,
  namespace: string,
  revision?: number,
): Promise<string> {
  const args = ['get', 'values', name, '-n', namespace, '-o', 'json'];
  if (revision !== undefined) args.push('--revision', String(revision));
  const out = await runHelm(opts, context, args).catch((err: unknown) => {
    throw classifyHelm(err);
  });
  return valuesDigest(JSON.parse(out || 'null') ?? {});
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

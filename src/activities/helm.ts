import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';

/** What Helm says of a release (`helm status -o json`), reduced to what rollouts decide on. */
export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chartVersion: string;
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

/** Runs helm with the context and kubeconfig; resolves stdout, rejects with helm's own error text. */
export function runHelm(opts: HelmOptions, context: string, args: string[]): Promise<string> {
  const full = [...args, '--kube-context', context, ...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : [])];
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
      else reject(new HelmError(`helm ${args.slice(0, 2).join(' ')} on ${context}`, code ?? -1, stderr.trim()));
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

/**
 * Classifies a helm failure: chart or version not found, invalid values, rendering errors and
 * forbidden are non-retryable; anything else (network, API server, conflicts) is retried.
 */
export function classifyHelm(err: unknown): Error {
  if (!(err instanceof HelmError)) return err as Error;
  const permanent =
    /no chart version found|chart .*not found|failed to download|values don't meet the specifications|parse error|template: |INSTALLATION FAILED: unable to build kubernetes objects|is invalid|forbidden|cannot patch|has no deployed releases/i;
  if (permanent.test(err.stderr)) return ApplicationFailure.nonRetryable(err.message, 'HelmFailed');
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
    return (JSON.parse(out) as { revision: number; status: string; chart: string }[]).map((h) => ({
      name,
      namespace,
      revision: h.revision,
      status: h.status,
      chartVersion: chartVersionOf(h.chart),
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

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { jobTemplateProblem } from '../plan/job-template.js';
import { renderTemplate, type TemplateVars } from '../plan/template.js';
import type { CleanupSynchronizerInput, SynchronizerInput, SynchronizerResult } from './contracts.js';
import { classify, isConflict, isNotFound } from '../adapters/kube-errors.js';
import { waitForObjects } from '../adapters/kube-wait.js';
import type { Kube, KubeFactory } from '../adapters/kube.js';
import { clusterStep, stepDeadline } from './context.js';
import { FailureType } from '../domain/failure-types.js';
import type { SourceFiles } from '../adapters/source.js';

/** Name of the synchronizer Job for one cluster and version: the same on every attempt, so retries adopt it. */
export function synchronizerJobName(cluster: string, version: string, cacheKey: string): string {
  const hash = createHash('sha256').update(`${cluster}\n${version}\n${cacheKey}`).digest('hex').slice(0, 8);
  const v = version.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `synchronizer-${v}`.slice(0, 52).replace(/-+$/, '') + `-${hash}`;
}

/** Renders the plan's Job template: placeholders in every string, then name, namespace and labels set. */
export async function renderJob(
  input: Pick<SynchronizerInput, 'cluster' | 'version' | 'cacheKey' | 'synchronizer' | 'rolloutId'>,
  /** The template file's path on this machine, resolved from the pinned source, when the plan names a file. */
  templatePath?: string,
): Promise<V1Job> {
  const vars: TemplateVars = { cluster: input.cluster, version: input.version, cacheKey: input.cacheKey };
  const { template } = input.synchronizer;
  const where = `synchronizer template${template.file ? ` ${template.file}` : ''}`;
  let job: V1Job;
  try {
    if (template.file) {
      const text = await readFile(templatePath ?? template.file, 'utf8');
      job = parseYaml(renderTemplate(text, vars)) as V1Job;
    } else job = renderStrings(template.inline, vars) as V1Job;
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${where}: ${(err as Error).message}`, FailureType.SynchronizerTemplate);
  }
  const problem = jobTemplateProblem(job);
  if (problem) throw ApplicationFailure.nonRetryable(`${where}: ${problem}`, FailureType.SynchronizerTemplate);
  const name = synchronizerJobName(input.cluster, input.version, input.cacheKey);
  job.apiVersion = 'batch/v1';
  job.metadata = {
    ...job.metadata,
    name,
    namespace: input.synchronizer.namespace,
    labels: {
      ...job.metadata?.labels,
      'app.kubernetes.io/managed-by': 'phased-rollout',
      'phased-rollout.dev/synchronizer': 'true',
      'phased-rollout.dev/version': input.version,
    },
    annotations: {
      ...job.metadata?.annotations,
      'phased-rollout.dev/rollout': input.rolloutId,
      'phased-rollout.dev/cache-key': input.cacheKey,
    },
  };
  return job;
}

function renderStrings(v: unknown, vars: TemplateVars): unknown {
  if (typeof v === 'string') return renderTemplate(v, vars);
  if (Array.isArray(v)) return v.map((x) => renderStrings(x, vars));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderStrings(x, vars)]));
  return v;
}

function jobOutcome(job: V1Job | undefined): 'complete' | 'failed' | undefined {
  const conds = job?.status?.conditions ?? [];
  if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) return 'complete';
  if (conds.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed';
  return undefined;
}

/** Synchronizer activities: run the Job (adopting one already there), follow it with a watch, clean up. */
export function createSynchronizerActivities(deps: { kube: KubeFactory; files: SourceFiles }) {
  async function failureReason(kube: Kube, job: V1Job): Promise<string> {
    const cond = job.status?.conditions?.find((c) => c.type === 'Failed');
    const pods = await kube.core
      .listNamespacedPod({
        namespace: job.metadata?.namespace ?? 'default',
        labelSelector: `job-name=${job.metadata?.name}`,
      })
      .catch(() => ({ items: [] as V1Pod[] }));
    const podNotes = pods.items.map((p) => {
      const term = p.status?.containerStatuses?.map((c) => c.state?.terminated).find(Boolean);
      const why = term
        ? `${term.reason ?? 'terminated'} (exit ${term.exitCode})${term.message ? `: ${term.message}` : ''}`
        : '';
      return `pod ${p.metadata?.name} ${p.status?.phase}${p.status?.reason ? ` ${p.status.reason}` : ''}${why ? ` ${why}` : ''}${p.status?.message ? `: ${p.status.message}` : ''}`;
    });
    return [cond ? `${cond.reason ?? 'Failed'}: ${cond.message ?? ''}`.trim() : 'Failed', ...podNotes].join('; ');
  }

  async function replaceFailedJob(kube: Kube, name: string, namespace: string, where: string): Promise<void> {
    await kube.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' }).catch((e: unknown) => {
      if (!isNotFound(e)) throw classify(e, `delete failed ${where}`);
    });
    await waitForObjects<V1Job, true>({
      kube,
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace,
      fieldSelector: `metadata.name=${name}`,
      check: (items) => (items.length === 0 ? true : undefined),
      deadline: Date.now() + 60_000,
      signal: Context.current().cancellationSignal,
      describe: () => `failed ${where} to be deleted`,
    });
  }

  return {
    runSynchronizerJob: (input: SynchronizerInput): Promise<SynchronizerResult> => {
      const deadline = stepDeadline(input.synchronizer.timeout);
      return clusterStep(input, deadline, () => runJob(input, deadline));
    },

    cleanupSynchronizerJob: (input: CleanupSynchronizerInput): Promise<void> =>
      clusterStep(input, stepDeadline(input.timeout), () => cleanup(input)),
  };

  async function runJob(input: SynchronizerInput, deadline: number): Promise<SynchronizerResult> {
    const kube = deps.kube(input.context);
    const file = input.synchronizer.template.file;
    const job = await renderJob(input, file ? await deps.files.path(input.source, file) : undefined);
    const name = job.metadata?.name as string;
    const namespace = input.synchronizer.namespace;
    const where = `Job ${namespace}/${name} on ${input.cluster}`;
    const create = () => kube.batch.createNamespacedJob({ namespace, body: job });
    let changed = true;
    let resumed = false;
    try {
      await create();
    } catch (err) {
      if (!isConflict(err)) throw classify(err, `create ${where}`);
      const existing = await kube.batch.readNamespacedJob({ name, namespace }).catch((e: unknown) => {
        throw classify(e, `read ${where}`);
      });
      if (jobOutcome(existing) === 'failed') {
        // A retry after a failure runs the synchronizer again rather than reporting the old failure.
        await replaceFailedJob(kube, name, namespace, where);
        await create().catch((e: unknown) => {
          throw classify(e, `create ${where}`);
        });
      } else {
        changed = jobOutcome(existing) !== 'complete';
        resumed = existing.metadata?.annotations?.['phased-rollout.dev/rollout'] === input.rolloutId;
        Context.current().log.info('adopted existing synchronizer Job', { job: name, changed, resumed });
      }
    }
    const finished = await waitForObjects<V1Job, V1Job>({
      kube,
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace,
      fieldSelector: `metadata.name=${name}`,
      check: (items) => (jobOutcome(items[0]) ? items[0] : undefined),
      deadline,
      signal: Context.current().cancellationSignal,
      describe: (items) =>
        `${where} to finish (active ${items[0]?.status?.active ?? 0}, failed ${items[0]?.status?.failed ?? 0})`,
    });
    if (jobOutcome(finished) === 'failed') {
      throw ApplicationFailure.nonRetryable(
        `${where} failed: ${await failureReason(kube, finished)}`,
        FailureType.SynchronizerFailed,
      );
    }
    return { jobName: name, namespace, changed, resumed: !changed && resumed };
  }

  async function cleanup(input: CleanupSynchronizerInput): Promise<void> {
    const kube = deps.kube(input.context);
    try {
      await kube.batch.deleteCollectionNamespacedJob({
        namespace: input.namespace,
        labelSelector: `phased-rollout.dev/synchronizer=true,phased-rollout.dev/version=${input.version}`,
        propagationPolicy: 'Background',
      });
    } catch (err) {
      if (!isNotFound(err)) {
        throw classify(err, `delete synchronizer Jobs of ${input.version} in ${input.namespace} on ${input.cluster}`);
      }
    }
  }
}

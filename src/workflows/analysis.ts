import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import { primaryVersion } from '../domain/source.js';
import type { Activities } from '../activities/contracts.js';
import { FailureType } from '../domain/failure-types.js';
import type { AnalysisRecord, ClusterStatus } from '../domain/types.js';
import type { ClusterRolloutInput } from './cluster-rollout.js';
import type { RolloutRun } from './rollout-run.js';
import type { AnalysisTemplate } from '../plan/schema.js';
import { durationMs } from '../plan/duration.js';

/** A measurement is one quick query: short timeouts, a few retries of the activity itself. */
const measure = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
}).measureAnalysis;

/** Fills {{cluster}}, {{version}}, {{done}} and {{label.KEY}} into an analysis query. */
export function analysisQuery(
  query: string,
  vars: { cluster: string; version: string; done: string[]; labels: Record<string, string> },
): string {
  return query.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (all, name: string) => {
    if (name === 'cluster') return vars.cluster;
    if (name === 'version') return vars.version;
    if (name === 'done') return vars.done.length > 0 ? vars.done.join('|') : '^$';
    if (name.startsWith('label.')) return vars.labels[name.slice(6)] ?? '';
    return all;
  });
}

/**
 * Runs one analysis of a cluster as Argo Rollouts runs an AnalysisRun: after `initialDelay`, `count`
 * measurements `interval` apart, waiting on durable timers. Stops early once more than `failureLimit`
 * failed (AnalysisFailed) or more than `inconclusiveLimit` were inconclusive, or more than
 * `consecutiveErrorLimit` could not be taken in a row (AnalysisInconclusive: the rollout waits for a person,
 * since a metrics endpoint that does not answer is no verdict on the release). `onMeasure` sees every
 * measurement as it is taken; the record (query, measurements, outcome) is returned or in the failure's details.
 */
export async function runAnalysis(
  address: string,
  t: AnalysisTemplate,
  query: string,
  onMeasure: (r: AnalysisRecord) => void,
): Promise<AnalysisRecord> {
  const record: AnalysisRecord = { name: t.name, query, phase: 'running', measurements: [] };
  const end = (phase: 'failed' | 'inconclusive', message: string): never => {
    Object.assign(record, { phase, message });
    onMeasure(record);
    throw ApplicationFailure.create({
      type: phase === 'failed' ? FailureType.AnalysisFailed : FailureType.AnalysisInconclusive,
      message: `analysis ${t.name} ${phase === 'failed' ? 'failed' : 'is inconclusive'}: ${message} (query: ${query})`,
      nonRetryable: true,
      details: [record],
    });
  };
  if (durationMs(t.initialDelay) > 0) await sleep(durationMs(t.initialDelay));
  let errorsInARow = 0;
  for (let i = 0; i < t.count; i++) {
    if (i > 0) await sleep(durationMs(t.interval));
    const m = await measure({ address, query, template: t });
    record.measurements.push(m);
    onMeasure(record);
    errorsInARow = m.phase === 'error' ? errorsInARow + 1 : 0;
    const count = (p: string) => record.measurements.filter((x) => x.phase === p).length;
    const shown = (x: typeof m) => (x.value === undefined ? (x.error ?? 'no data') : String(x.value));
    if (count('failed') > t.failureLimit) {
      end(
        'failed',
        `${count('failed')} of ${i + 1} measurements failed (${record.measurements.map(shown).join(', ')})`,
      );
    }
    if (count('inconclusive') > t.inconclusiveLimit) {
      end('inconclusive', `${count('inconclusive')} of ${i + 1} measurements were neither successful nor failed`);
    }
    if (errorsInARow > t.consecutiveErrorLimit) {
      end('inconclusive', `${errorsInARow} measurements in a row could not be taken: ${m.error ?? ''}`);
    }
  }
  record.phase = 'successful';
  onMeasure(record);
  return record;
}
/**
 * The analyses a cluster must pass, their queries templated for it: its name, the version, its labels, and
 * the clusters this rollout has already rolled ({{done}}), to compare it with them.
 */
export function analysisFor(run: RolloutRun, c: ClusterStatus): ClusterRolloutInput['analysis'] {
  const { spec, status, input } = run;
  const names = spec.verify.analyses ?? [];
  if (!spec.analysis || names.length === 0) return undefined;
  const labels = spec.clusters.find((x) => x.name === c.name)?.labels ?? {};
  // A cluster is never its own baseline (during a bake it has succeeded too).
  const done = status.clusters.filter((x) => x.state === 'succeeded' && x.name !== c.name).map((x) => x.name);
  const runs = names.flatMap((n) => {
    const template = spec.analysis?.templates.find((t) => t.name === n);
    if (!template) return [];
    const query = analysisQuery(template.query, { cluster: c.name, version: primaryVersion(input), done, labels });
    return [{ template, query }];
  });
  return { address: spec.analysis.address, runs };
}

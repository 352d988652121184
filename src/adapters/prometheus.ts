import { evaluate } from '@marcbachmann/cel-js';
import type { MeasureInput } from '../activities/contracts.js';
import type { AnalysisTemplate } from '../plan/schema.js';
import type { Measurement } from '../domain/types.js';

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

/** The values a Prometheus instant query returned: one per series (a scalar is one value). */
function valuesOf(data: NonNullable<PromResponse['data']>): number[] {
  if (data.resultType === 'scalar') return [Number((data.result as [number, string])[1])];
  if (data.resultType === 'vector') {
    return (data.result as { value: [number, string] }[]).map((s) => Number(s.value[1]));
  }
  throw new Error(`the query returned a ${data.resultType}, not a vector or scalar`);
}

/** Whether a value is successful, failed or neither by the template's conditions (CEL) or range. */
export function judge(t: AnalysisTemplate, values: number[]): Measurement['phase'] {
  if (values.length === 0) return t.noData === 'pass' ? 'successful' : t.noData === 'fail' ? 'failed' : 'inconclusive';
  const result = values[0] as number;
  if (t.range) {
    const inRange =
      (t.range.min === undefined || result >= t.range.min) && (t.range.max === undefined || result <= t.range.max);
    return inRange ? 'successful' : 'failed';
  }
  const vars = { result, results: values };
  const holds = (c: string | undefined) => (c === undefined ? undefined : evaluate(c, vars) === true);
  const failed = holds(t.failureCondition);
  const succeeded = holds(t.successCondition);
  if (failed) return 'failed';
  if (succeeded) return 'successful';
  // Only one condition given: the other outcome is its negation (as Argo Rollouts reads it).
  if (t.failureCondition === undefined) return 'failed';
  if (t.successCondition === undefined) return 'successful';
  return 'inconclusive';
}

/**
 * Takes one measurement with the Prometheus HTTP API (GET /api/v1/query), so Prometheus, Thanos, Mimir
 * and VictoriaMetrics all serve, and judges it. A query endpoint that does not answer, or answers with an
 * error, is an `error` measurement (it counts toward consecutiveErrorLimit, never as a failure); this
 * activity never throws for it.
 */
export function createAnalysisActivities() {
  return {
    async measureAnalysis(input: MeasureInput): Promise<Measurement> {
      const at = new Date().toISOString();
      const url = `${input.address.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(input.query)}`;
      let values: number[];
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.json().catch(() => ({ status: 'error', error: `HTTP ${res.status}` }))) as PromResponse;
        if (!res.ok || body.status !== 'success' || !body.data) {
          return { at, phase: 'error', error: `HTTP ${res.status}: ${body.error ?? 'no data'}` };
        }
        values = valuesOf(body.data);
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        return { at, phase: 'error', error: cause ?? (err as Error).message };
      }
      try {
        return { at, phase: judge(input.template, values), value: values[0], values: values.slice(0, 10) };
      } catch (err) {
        return { at, phase: 'error', value: values[0], error: `condition: ${(err as Error).message.split('\n')[0]}` };
      }
    },
  };
}

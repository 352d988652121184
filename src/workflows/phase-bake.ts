import { ApplicationFailure, continueAsNew, sleep, workflowInfo } from '@temporalio/workflow';
import type { ClusterTarget } from '../activities/contracts.js';
import { verifyStep, type AnalysisRecord, type StepName } from '../domain/types.js';
import { failureType } from './failures.js';
import { runAnalysis } from './analysis.js';
import { verifyComponent, type ClusterRolloutInput } from './cluster-rollout.js';
import { appliesTo, versionOf, type Component } from '../plan/components.js';
import { durationMs } from '../plan/duration.js';
import type { VerifySpec } from '../plan/schema.js';
import { FailureType } from '../domain/failure-types.js';
import { nowMs } from './clock.js';
import { rootMessage } from './failures.js';

export interface PhaseBakeInput {
  phase: string;
  /** The phase's clusters, with their labels: each is verified for the components it gets. */
  clusters: (ClusterTarget & { labels: Record<string, string> })[];
  components: Component[];
  versions: Record<string, string>;
  verify: VerifySpec;
  /** When the bake ends (ISO time). */
  until: string;
  /** The analyses each cluster runs again during the bake, templated for it (as after its verification). */
  analyses?: { cluster: string; analysis: NonNullable<ClusterRolloutInput['analysis']> }[];
  /** What the analyses measured in the runs before this one (the bake continued as new). */
  measured?: BakeResult['analyses'];
}

/** Details of a failed bake: which cluster stopped verifying or failed its analysis, and the analysis. */
export interface BakeFailureDetails {
  cluster: string;
  /** `analysis` when an analysis failed or was inconclusive; verification otherwise. */
  failedStep?: StepName;
  analyses?: AnalysisRecord[];
  inconclusive?: boolean;
}

/** What a bake measured: every cluster's analyses during it. */
export interface BakeResult {
  analyses: { cluster: string; records: AnalysisRecord[] }[];
}

/**
 * A phase's bake time: verification of every cluster in the phase, repeated each verify interval until
 * the bake ends, and beside it each cluster's analyses run again (their `count` measurements, `interval`
 * apart; the bake lasts until they are done too). A failed or inconclusive analysis ends the bake naming
 * the cluster. Continues as new when its history grows, once its analyses are done, so long bakes of large
 * phases stay small.
 */
export async function phaseBake(input: PhaseBakeInput): Promise<BakeResult | void> {
  const records = new Map<string, AnalysisRecord[]>((input.measured ?? []).map((m) => [m.cluster, m.records]));
  let analysesDone = !input.analyses?.length;
  const analyses = Promise.all(
    (input.analyses ?? []).map(async ({ cluster, analysis }) => {
      for (const r of analysis.runs) {
        const record = await runAnalysis(analysis.address, r.template, r.query, () => undefined).catch(
          (err: unknown) => {
            const record = (err as ApplicationFailure).details?.[0] as AnalysisRecord | undefined;
            const details: BakeFailureDetails = {
              cluster,
              failedStep: 'analysis',
              analyses: [...(records.get(cluster) ?? []), ...(record ? [record] : [])],
              inconclusive: failureType(err) === FailureType.AnalysisInconclusive,
            };
            throw ApplicationFailure.create({
              type: FailureType.BakeVerifyFailed,
              message: `during the bake of phase "${input.phase}": ${rootMessage(err)}`,
              nonRetryable: true,
              details: [details],
            });
          },
        );
        records.set(cluster, [...(records.get(cluster) ?? []), record]);
      }
    }),
  ).then(() => (analysesDone = true));
  const measured = () => [...records].map(([cluster, r]) => ({ cluster, records: r }));
  await Promise.all([verifyUntil(input, () => analysesDone, measured), analyses]);
  if (records.size === 0) return;
  return { analyses: measured() };
}

/** Verifies every cluster each verify interval until the bake's end. */
async function verifyUntil(
  input: PhaseBakeInput,
  analysesDone: () => boolean,
  measured: () => BakeResult['analyses'],
): Promise<void> {
  const until = Date.parse(input.until);
  /** A cluster's components verified in order; the first that fails ends the bake, naming cluster and step. */
  const verifyCluster = async ({ labels, ...c }: PhaseBakeInput['clusters'][number]) => {
    for (const component of input.components.filter((x) => appliesTo(x, labels))) {
      const run = verifyComponent(c, component, input.verify, versionOf(input.versions, component));
      await run?.().catch((err: unknown) => {
        const details: BakeFailureDetails = { cluster: c.cluster, failedStep: verifyStep(component.name) };
        throw ApplicationFailure.create({
          type: FailureType.BakeVerifyFailed,
          message: `verification failed during the bake of phase "${input.phase}": ${rootMessage(err)}`,
          nonRetryable: true,
          details: [details],
        });
      });
    }
  };
  while (nowMs() < until) {
    await Promise.all(input.clusters.map(verifyCluster));
    const left = until - nowMs();
    if (left <= 0) break;
    await sleep(Math.min(durationMs(input.verify.interval), left));
    if (workflowInfo().continueAsNewSuggested && analysesDone()) {
      await continueAsNew<typeof phaseBake>({ ...input, analyses: undefined, measured: measured() });
    }
  }
}

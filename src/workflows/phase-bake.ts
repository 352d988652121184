import { ApplicationFailure, continueAsNew, sleep, workflowInfo } from '@temporalio/workflow';
import type { ClusterTarget } from '../activities/contracts.js';
import { durationMs } from '../plan/duration.js';
import type { ReleaseSpec, VerifySpec } from '../plan/schema.js';
import { FailureType } from '../domain/failure-types.js';
import { activitiesFor } from './activity-options.js';
import { nowMs } from './clock.js';
import { rootMessage } from './failures.js';

export interface PhaseBakeInput {
  phase: string;
  clusters: ClusterTarget[];
  release: Pick<ReleaseSpec, 'releaseName' | 'namespace'>;
  verify: VerifySpec;
  version: string;
  /** When the bake ends (ISO time). */
  until: string;
}

/** Details of a failed bake: which cluster stopped verifying. */
export interface BakeFailureDetails {
  cluster: string;
}

/**
 * A phase's bake time: verification of every cluster in the phase, repeated each verify interval until
 * the bake ends. Continues as new when its history grows, so long bakes of large phases stay small.
 */
export async function phaseBake(input: PhaseBakeInput): Promise<void> {
  const until = Date.parse(input.until);
  const verify = activitiesFor(input.verify.timeout);
  while (nowMs() < until) {
    await Promise.all(
      input.clusters.map((c) =>
        verify
          .verifyWorkloads({ ...c, release: input.release, verify: input.verify, version: input.version })
          .catch((err: unknown) => {
            const details: BakeFailureDetails = { cluster: c.cluster };
            throw ApplicationFailure.create({
              type: FailureType.BakeVerifyFailed,
              message: `verification failed during the bake of phase "${input.phase}": ${rootMessage(err)}`,
              nonRetryable: true,
              details: [details],
            });
          }),
      ),
    );
    const left = until - nowMs();
    if (left <= 0) break;
    await sleep(Math.min(durationMs(input.verify.interval), left));
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof phaseBake>(input);
  }
}

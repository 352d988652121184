import { ApplicationFailure, condition, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import {
  refuseAbort,
  refuseAccept,
  refuseApprove,
  refuseClusterDecision,
  refuseOverrideWindow,
  refusePause,
  refuseResume,
  refuseRollback,
} from '../domain/controls.js';
import { finalStates, type Decision, type RollbackScope } from '../domain/types.js';
import { inFlightNamed, type Actor } from '../domain/controls.js';
import { requestProblem } from '../domain/control-requests.js';
import { approvalMessage, gateApproved, refuseByPolicy, signatureMaxAgeMs } from '../domain/approvals.js';
import { shortDigest } from '../domain/diff.js';
import { FailureType } from '../domain/failure-types.js';
import { quick } from './activity-options.js';
import { nowIso, nowMs } from './clock.js';
import {
  abortUpdate,
  acceptUpdate,
  approveUpdate,
  overrideWindowUpdate,
  fenceQuery,
  freezeSignal,
  handlerDescriptions,
  pauseUpdate,
  releaseQuery,
  resumeUpdate,
  retryUpdate,
  rollbackUpdate,
  skipUpdate,
  startedUpdate,
  statusQuery,
  statusPageQuery,
  versionAllowedSignal,
  versionDeniedSignal,
  windowOverrideSignal,
  type ControlReply,
} from './definitions.js';
import type { RolloutRun } from './rollout-run.js';
import type { DecisionChange } from '../domain/rollout-machine.js';
import { statusPage } from '../domain/status-page.js';
import { releaseTarget } from '../domain/source.js';
import { componentRolling } from '../plan/components.js';

/** A validator's refusal: final (nothing a retry would change), of the control's failure type. */
function reject(reason: string | undefined, type: FailureType = FailureType.ControlRefused): void {
  if (reason) throw ApplicationFailure.create({ type, message: reason, nonRetryable: true });
}

/**
 * Installs the status query, the `started` update and every control update on the rollout's state.
 * Validators refuse with a reason; accepted requests are recorded as decisions (who, when, comment) and change state at once.
 */
export function installControls(run: RolloutRun): void {
  const { status } = run;
  const approvers = run.spec.approvers;
  /** The clusters in flight right now, as the stop word found them (before it changed anything). */
  const clustersInFlight = () =>
    status.clusters.filter((c) => c.state === 'running' && c.workflowId).map((c) => ({ ...c }));
  /** Records the decision and applies what it changes (domain/rollout-machine.ts); answers the control. */
  const record = (d: Omit<Decision, 'at'>, change?: DecisionChange): ControlReply => {
    const decision = { ...d, at: nowIso() };
    run.apply({ kind: 'decided', decision, change });
    return {
      decision,
      state: status.state,
      phase: status.currentPhase,
      paused: status.paused ?? false,
      stopping: status.stopping,
    };
  };

  setHandler(statusQuery, () => status, { description: handlerDescriptions.status });
  setHandler(statusPageQuery, (req) => statusPage(status, req ?? {}), {
    description: handlerDescriptions['status-page'],
  });
  setHandler(fenceQuery, () => ({ stopping: status.stopping, paused: status.paused, frozen: status.frozen }), {
    description: handlerDescriptions.fence,
  });
  setHandler(
    freezeSignal,
    ({ frozen, reason, by }) => {
      const change = {
        kind: 'freeze' as const,
        frozen: frozen ? `frozen by ${by ?? 'someone'}: ${reason ?? ''}` : undefined,
      };
      record({ kind: frozen ? 'freeze' : 'unfreeze', by: by ?? 'someone', comment: reason }, change);
    },
    { description: handlerDescriptions.freeze },
  );
  setHandler(
    versionDeniedSignal,
    (d) => {
      const mine = componentRolling(run.components, run.input.versions, d.chart, d.version) !== undefined;
      if (!mine || finalStates.includes(status.state)) return;
      const reason = `paused: chart ${d.chart} ${d.version} was marked bad by ${d.by} (${d.reason})`;
      const denied = { chart: d.chart, version: d.version, by: d.by, reason: d.reason };
      record({ kind: 'deny-version', by: d.by, comment: reason }, { kind: 'deny-version', denied, reason });
    },
    { description: handlerDescriptions['version-denied'] },
  );
  setHandler(
    versionAllowedSignal,
    (d) => {
      const mine = d.chart === status.denied?.chart && d.version === status.denied.version;
      if (!mine || finalStates.includes(status.state)) return;
      const comment = `${d.chart} ${d.version} may roll again: ${d.reason}`;
      record({ kind: 'allow-version', by: d.by, comment }, { kind: 'allow-version' });
    },
    { description: handlerDescriptions['version-allowed'] },
  );
  setHandler(
    releaseQuery,
    () => {
      return {
        ...releaseTarget(run.input),
        timeout: run.spec.verify.timeout,
        clusters: status.clusters.map((c) => ({ ...run.clusterReleases(c), phase: c.phase })),
      };
    },
    { description: handlerDescriptions.release },
  );
  setHandler(
    startedUpdate,
    async () => {
      await condition(() => status.locksHeldAt !== undefined || run.startFailure !== undefined);
      if (run.startFailure) {
        throw ApplicationFailure.create({
          type: run.startFailure.type,
          message: run.startFailure.message,
          nonRetryable: true,
        });
      }
      return { clusters: status.clusters.length, state: status.state };
    },
    { description: handlerDescriptions.started },
  );

  setHandler(
    approveUpdate,
    async (req) => {
      const phase = status.phases.find((p) => p.name === req.phase);
      // An approval binds to the diff the approver saw: the one named, else the one the gate shows now.
      const digest = req.digest ?? phase?.diff?.digest;
      const verified = await verifySignature(run, req);
      const approval = { phase: req.phase, by: req.by, at: nowIso(), comment: req.comment, digest, verified };
      const meetsPolicy = gateApproved(run.spec.approvals, [...(phase?.approvals ?? []), approval]);
      return record(
        { kind: 'approve', by: req.by, comment: req.comment, phase: req.phase, digest },
        phase ? { kind: 'approve', approval, meetsPolicy } : undefined,
      );
    },
    {
      validator: (req: ApproveRequest) => {
        reject(requestProblem('approve', req), FailureType.ApprovalRefused);
        const phase = status.phases.find((p) => p.name === req.phase);
        reject(
          refuseApprove(status, approvers, req) ??
            (phase ? refuseByPolicy(status, phase, run.spec.approvals, req.by) : undefined),
          FailureType.ApprovalRefused,
        );
      },
      description: handlerDescriptions.approve,
    },
  );
  setHandler(
    overrideWindowUpdate,
    (req) => {
      // Clusters in flight that wait for a window before their next step hear of it too.
      for (const c of status.clusters.filter((x) => x.state === 'running' && x.workflowId)) {
        void getExternalWorkflowHandle(c.workflowId ?? '')
          .signal(windowOverrideSignal, { window: req.window })
          .catch(() => undefined);
      }
      const change = { kind: 'override-window' as const, window: req.window };
      return record({ kind: 'override-window', by: req.by, comment: req.comment, window: req.window }, change);
    },
    {
      validator: (req: Actor & { window: string }) =>
        reject(
          requestProblem('override-window', req) ??
            refuseOverrideWindow(
              status,
              approvers,
              (run.spec.windows ?? []).map((w) => w.name),
              req,
            ),
        ),
      description: handlerDescriptions['override-window'],
    },
  );
  setHandler(
    pauseUpdate,
    async (req) => {
      const inFlight = clustersInFlight();
      const reply = record({ kind: 'pause', by: req.by, comment: req.comment }, { kind: 'pause' });
      return { ...reply, inFlight: await inFlightSteps(run, () => inFlight) };
    },
    {
      validator: (req: Actor) => reject(requestProblem('pause', req) ?? refusePause(status, req)),
      description: handlerDescriptions.pause,
    },
  );
  setHandler(resumeUpdate, (req) => record({ kind: 'resume', by: req.by, comment: req.comment }, { kind: 'resume' }), {
    validator: (req: Actor) => reject(requestProblem('resume', req) ?? refuseResume(status, approvers, req)),
    description: handlerDescriptions.resume,
  });
  setHandler(
    abortUpdate,
    async (req) => {
      const inFlight = clustersInFlight();
      run.requestStop({ kind: 'abort', reason: `aborted by ${req.by}: ${req.reason}` });
      const reply = record({ kind: 'abort', by: req.by, comment: req.reason }, { kind: 'stop', stopping: 'abort' });
      return { ...reply, inFlight: await inFlightSteps(run, () => inFlight) };
    },
    {
      validator: (req: Actor & { reason: string }) => reject(requestProblem('abort', req) ?? refuseAbort(status, req)),
      description: handlerDescriptions.abort,
    },
  );
  setHandler(
    rollbackUpdate,
    async (req) => {
      const inFlight = clustersInFlight();
      run.requestStop({ kind: 'rollback', scope: req.scope, reason: `rollback (${req.scope}) requested by ${req.by}` });
      const change = { kind: 'stop' as const, stopping: 'rollback' as const };
      const reply = record({ kind: 'rollback', by: req.by, comment: req.comment, scope: req.scope }, change);
      return { ...reply, inFlight: await inFlightSteps(run, () => inFlight) };
    },
    {
      validator: (req: Actor & { scope: RollbackScope }) =>
        reject(requestProblem('rollback', req) ?? refuseRollback(status, approvers, req)),
      description: handlerDescriptions.rollback,
    },
  );
  /** A decision on one cluster (retry, skip, accept); `refuse` is the validator's reason to say no. */
  const onCluster = (
    def: typeof retryUpdate,
    kind: 'retry' | 'skip' | 'accept',
    refuse: typeof refuseClusterDecision,
  ) =>
    setHandler(
      def,
      (req) => record({ kind, by: req.by, comment: req.comment, cluster: req.cluster }, { kind, cluster: req.cluster }),
      {
        validator: (req: Actor & { cluster: string }) =>
          reject(requestProblem(kind, req) ?? refuse(status, approvers, req)),
        description: handlerDescriptions[kind],
      },
    );
  onCluster(retryUpdate, 'retry', refuseClusterDecision);
  onCluster(skipUpdate, 'skip', refuseClusterDecision);
  onCluster(acceptUpdate, 'accept', refuseAccept);
}

type ApproveRequest = Actor & { phase: string; digest?: string; signature?: string; signedAt?: string };

/**
 * With the plan's allowed signers, an approval counts only with a fresh signature by the approver's key
 * over this rollout, phase and diff, verified on a worker; without them, names are taken as claimed
 * (false: not verified). A refusal fails the update with the reason.
 */
async function verifySignature(run: RolloutRun, req: ApproveRequest): Promise<boolean> {
  const signers = run.spec.approvals?.allowedSigners;
  if (!signers) return false;
  const phase = run.status.phases.find((p) => p.name === req.phase);
  const digest = req.digest ?? phase?.diff?.digest;
  if (!req.signature || !req.signedAt) {
    throw ApplicationFailure.nonRetryable(
      `this plan's approvals must be signed: rollout approve ${run.status.id} --phase ${req.phase} --sign-with KEY`,
      FailureType.ApprovalRefused,
    );
  }
  const age = nowMs() - Date.parse(req.signedAt);
  if (!(Math.abs(age) <= signatureMaxAgeMs)) {
    throw ApplicationFailure.nonRetryable(
      `the signature was made at ${req.signedAt}, not within ${signatureMaxAgeMs / 60_000} minutes of now: sign again`,
      FailureType.ApprovalRefused,
    );
  }
  const message = approvalMessage({
    rollout: run.status.id,
    run: run.status.runId ?? '',
    phase: req.phase,
    digest,
    by: req.by,
    signedAt: req.signedAt,
  });
  const { valid, detail } = await quick.verifyApproval({
    source: run.input.source,
    allowedSigners: signers,
    principal: req.by,
    message,
    signature: req.signature,
  });
  if (!valid) {
    throw ApplicationFailure.nonRetryable(
      `the signature does not verify for ${req.by} over rollout ${run.status.id}, phase ${req.phase}${digest ? `, diff ${shortDigest(digest)}` : ''} against ${signers}: ${detail}`,
      FailureType.ApprovalRefused,
    );
  }
  return true;
}

/**
 * The clusters in flight when a stop word was accepted, the first `inFlightNamed` with the step each was
 * at, asked of their workflows (a quick activity: the answer is for the person who sent it; the fence does
 * not wait for it).
 */
async function inFlightSteps(
  run: RolloutRun,
  clusters: () => { name: string; workflowId?: string }[],
): Promise<{ cluster: string; step?: string }[]> {
  const list = clusters();
  if (list.length === 0) return [];
  const named = list.slice(0, inFlightNamed);
  const steps = await quick.stepsOf({ workflowIds: named.map((c) => c.workflowId ?? '') }).catch(() => []);
  return list.map((c) => {
    const step = steps.find((s) => s.workflowId === c.workflowId)?.step;
    return { cluster: c.name, ...(step ? { step } : {}) };
  });
}

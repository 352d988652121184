/**
 * The rollout's controls and queries. Controls are Workflow Updates with validators: the caller learns at
 * once whether the request was accepted and, if not, why. The CLI imports these same definitions.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Actor } from '../domain/controls.js';
import type { DiffInput } from '../activities/contracts.js';
import type {
  AnalysisRecord,
  Decision,
  RegistryState,
  RollbackScope,
  RolloutState,
  RolloutStatus,
  StartClaim,
  StartClaimReply,
  StepName,
} from '../domain/types.js';
import { MessageName } from '../domain/names.js';
import type { StatusPage, StatusPageRequest } from '../domain/status-page.js';
import { type LockOwner, type LockTable, type TakeClustersReply, type TakeClustersRequest } from '../domain/locks.js';
import type { FleetPage, FleetPageRequest } from '../domain/fleet.js';

/** What a mutating step asks right before it starts (activities/fence.ts): a few bytes, not the status. */
export const fenceQuery = defineQuery<Pick<RolloutStatus, 'stopping' | 'paused' | 'frozen'>>(MessageName.Fence);

/** The rollout's whole status: phases, clusters, decisions, why it waits. Costs no history. */
export const statusQuery = defineQuery<RolloutStatus>(MessageName.Status);
/** The status with a page of the clusters asked for and every phase's counts: bounded whatever the fleet's size. */
export const statusPageQuery = defineQuery<StatusPage, [StatusPageRequest]>(MessageName.StatusPage);

/**
 * What the rollout rolls, as `rollout diff` needs it to diff clusters from anywhere: the pinned source,
 * both releases and versions, and every cluster with its kube context, overlay and phase. Names only.
 */
export interface RolloutRelease extends Omit<DiffInput, 'clusters' | 'timeout'> {
  clusters: (DiffInput['clusters'][number] & { phase: string })[];
  timeout: string;
}
export const releaseQuery = defineQuery<RolloutRelease>(MessageName.Release);

/*
 * Every control below takes who acts (`by`, checked against the plan's approvers where they guard it) and
 * an optional comment, is refused by its validator with the reason (nothing recorded), and when accepted
 * is recorded as a decision and returns a ControlReply: the decision and the state it left, not the whole
 * status (an update's reply is kept in the rollout's history, once per control; the status of 1,000
 * clusters is hundreds of kilobytes, the reply a few hundred bytes).
 */

/** What a control returns: the decision as recorded and where the rollout stands after it. */
export interface ControlReply {
  decision: Decision;
  state: RolloutState;
  /** The phase in progress, if any. */
  phase?: string;
  paused: boolean;
  /** Set while the rollout is rolling back or aborting (a retry then rolls a cluster back again). */
  stopping?: 'rollback' | 'abort';
  /**
   * For abort, rollback and pause: the clusters that were in flight when it was accepted, each with the step
   * it was at. Nothing else starts after it (the fence); these are cancelled (abort, rollback) or finish (pause).
   */
  inFlight?: { cluster: string; step?: string }[];
}

/**
 * Approves a phase's gate; a later phase may be approved early. Approvers only. `digest` is the phase
 * diff's digest the approver reviewed: refused when the diff is now another, and the approval stops
 * holding if the diff changes before the phase starts. Without it, the approval binds to the diff the
 * gate shows when it is accepted (none, for an early approval: then to the pinned source and versions).
 */
export const approveUpdate = defineUpdate<
  ControlReply,
  [
    Actor & {
      phase: string;
      digest?: string;
      /** With the plan's allowed signers: `ssh-keygen -Y sign` over `approvalMessage(...)`, and when it was made. */
      signature?: string;
      signedAt?: string;
    },
  ]
>(MessageName.Approve);
/** Starts no new cluster or phase; clusters in flight finish. Anyone may pause. */
export const pauseUpdate = defineUpdate<ControlReply, [Actor]>(MessageName.Pause);
/** Ends a pause. Approvers only. */
export const resumeUpdate = defineUpdate<ControlReply, [Actor]>(MessageName.Resume);
/** Cancels clusters in flight and restores half-done ones; finished clusters stay. Anyone, with a reason. */
export const abortUpdate = defineUpdate<ControlReply, [Actor & { reason: string }]>(MessageName.Abort);
/** Rolls back the phase in progress (`phase`) or everything rolled so far (`all`), newest first. Approvers only. */
export const rollbackUpdate = defineUpdate<ControlReply, [Actor & { scope: RollbackScope }]>(MessageName.Rollback);
/**
 * Runs a failed cluster of the phase in progress again (steps in place are skipped); while the rollout
 * restores clusters, rolls a cluster whose rollback failed back again. Approvers only.
 */
export const retryUpdate = defineUpdate<ControlReply, [Actor & { cluster: string }]>(MessageName.Retry);
/** Leaves a failed cluster of the phase in progress as it is and goes on. Approvers only. */
export const skipUpdate = defineUpdate<ControlReply, [Actor & { cluster: string }]>(MessageName.Skip);
/** Accepts a cluster whose rollback could not finish as it is, so the rollout can end. Approvers, with a comment. */
export const acceptUpdate = defineUpdate<ControlReply, [Actor & { cluster: string }]>(MessageName.Accept);

/**
 * Sets a deploy window aside for this rollout: its clusters start as if the window did not exist.
 * Approvers only, with a reason; recorded as a decision.
 */
export const overrideWindowUpdate = defineUpdate<ControlReply, [Actor & { window: string }]>(
  MessageName.OverrideWindow,
);

/** What `rollout start` learns once the rollout has passed its preflight and holds every cluster's lock. */
export interface StartedResult {
  clusters: number;
  state: string;
}
/**
 * Returns once the rollout has passed its preflight and holds its clusters' locks; fails with the reason
 * (PreflightFailed, ClusterLocked naming the holder) when it was refused. Changes nothing.
 */
export const startedUpdate = defineUpdate<StartedResult, []>(MessageName.Started);

/** What a cluster's workflow is doing right now. */
export interface ClusterProgress {
  cluster: string;
  step?: StepName;
  done: StepName[];
  /** Steps found already in place. */
  skipped: StepName[];
  /** Steps this rollout had done in an attempt cut short (a worker crash), found done on resumption. */
  resumed: StepName[];
  /** Set while the cluster, in flight, waits for a deploy window to open before its next step. */
  waitingFor?: string;
  /** Metric analyses so far, with every measurement. */
  analyses: AnalysisRecord[];
}
export const progressQuery = defineQuery<ClusterProgress>(MessageName.Progress);

/** Sent by the control registry to running rollouts on a freeze or unfreeze: while frozen, nothing new starts. */
export const freezeSignal = defineSignal<[{ frozen: boolean; reason?: string; by?: string }]>(MessageName.Freeze);
/** Sent by the control registry to running rollouts of a chart version marked bad: they pause, saying why. */
export const versionDeniedSignal = defineSignal<[{ chart: string; version: string; reason: string; by: string }]>(
  MessageName.VersionDenied,
);

/** Sent by the control registry when a version's bad mark is lifted: resuming its rollouts is allowed again. */
export const versionAllowedSignal = defineSignal<[{ chart: string; version: string; reason: string; by: string }]>(
  MessageName.VersionAllowed,
);

/** Sent by a rollout to its clusters in flight when an approver sets a deploy window aside. */
export const windowOverrideSignal = defineSignal<[{ window: string }]>(MessageName.WindowOverride);

/**
 * What each query, signal and update is for, as the Temporal Web UI shows it (its "Send an Update" and
 * query dialogs), with the JSON a person types there.
 */
export const handlerDescriptions = {
  status:
    "The rollout's status, whole: phases, every cluster, decisions, what it waits for. No arguments. Past a few thousand clusters it outgrows a query's answer: use status-page.",
  'status-page':
    'The status with at most 500 clusters and every phase\'s counts by state: {"clusters"?: [names], "phase"?, "attention"?: true (in flight, failed, waiting), "offset"?, "limit"?}.',
  fence:
    'Whether the rollout is stopping, paused or frozen, as each step asks before it changes a cluster. No arguments.',
  release: 'What the rollout rolls (source, releases, versions, clusters), as `rollout diff` reads it. No arguments.',
  progress: "A cluster workflow's current step and the steps done, found in place or resumed. No arguments.",
  started:
    'Returns once the rollout passed its preflight and holds its clusters; fails with the reason it was refused. No arguments.',
  approve:
    'Approve a phase gate (approvers only), bound to the diff the gate shows: {"phase": "wave-1", "by": "your name", "comment": "why"}.',
  pause: 'Start no new cluster or phase; clusters in flight finish: {"by": "your name", "comment": "why"}.',
  resume: 'End a pause (approvers only): {"by": "your name", "comment": "why"}.',
  abort:
    'Stop: cancel clusters in flight and restore half-done ones; finished ones stay: {"by": "your name", "reason": "why"}.',
  rollback:
    'Roll back the phase in progress or everything so far, newest first (approvers only): {"by": "your name", "scope": "phase"} or "all".',
  retry:
    'Run a failed cluster again, or roll back again one whose rollback failed (approvers only): {"by": "your name", "cluster": "name"}.',
  skip: 'Leave a failed cluster as it is and go on (approvers only): {"by": "your name", "cluster": "name"}.',
  accept:
    'Leave a cluster whose rollback failed as it is (approvers only): {"by": "your name", "cluster": "name", "comment": "why"}.',
  freeze:
    'Sent by the control registry on `rollout freeze` / `unfreeze`: {"frozen": true, "reason": "why", "by": "your name"}. While frozen nothing new starts.',
  'version-denied':
    'Sent by the control registry on `rollout deny-version`: {"chart": "express", "version": "2.3.0", "reason": "why", "by": "your name"}; a rollout of it pauses.',
  'version-allowed':
    'Sent by the control registry on `rollout allow-version`: {"chart": "express", "version": "2.3.0", "reason": "why", "by": "your name"}; it may be resumed again.',
  'window-override':
    'Sent by the rollout to a cluster in flight when an approver sets a deploy window aside. Not for people.',
  'override-window':
    'Set a deploy window aside for this rollout (approvers only): {"by": "your name", "window": "name", "comment": "why"}.',
} as const;

/**
 * The task queue a rollout's cluster workflows (rolling a cluster out, rolling it back) and their steps run
 * on, beside the rollouts' own. The rollout-worker polls both with an SDK worker each, so that a rollout's
 * workflow tasks, and the queries its controls, `status` and the fence send it, never wait behind the tasks
 * of the hundreds of cluster workflows a wide phase runs at once.
 */
export const clusterTaskQueue = (taskQueue: string) => `${taskQueue}-clusters`;

/**
 * The registry of freezes and bad versions: one per task queue, shared by every rollout its workers run
 * (a freeze of "everything" is of those rollouts).
 */
export const registryWorkflowId = (taskQueue: string) => `phased-rollout-registry-${taskQueue}`;

/** Freezes and bad versions in force. Costs no history. */
export const registryQuery = defineQuery<RegistryState>(MessageName.Registry);
/** What a registry change answers: what is now in force, and the running rollouts it told of the change. */
export type RegistryReply = RegistryState & { told: string[] };

/** Freezes everything (`plan` unset) or one plan's rollouts: nothing new starts; anyone may, with a reason. */
export const freezeUpdate = defineUpdate<RegistryReply, [{ plan?: string; reason: string; by: string }]>(
  MessageName.FreezeAll,
);
/** Lifts the freeze of everything (`plan` unset) or of one plan. */
export const unfreezeUpdate = defineUpdate<RegistryReply, [{ plan?: string; by: string }]>(MessageName.Unfreeze);
/** Marks a chart version bad: it cannot be started again, and running rollouts of it pause. */
export const denyVersionUpdate = defineUpdate<
  RegistryReply,
  [{ chart: string; version: string; reason: string; by: string }]
>(MessageName.DenyVersion);
/** Lifts a chart version's bad mark (recorded with a reason): it may be started, and its rollouts resumed, again. */
export const allowVersionUpdate = defineUpdate<
  RegistryReply,
  [{ chart: string; version: string; reason: string; by: string }]
>(MessageName.AllowVersion);

/**
 * Takes a signed start's nonce for a rollout's run: granted the first time, and again to the same run (a
 * retried activity); refused, naming the holder, to any other run. A signature starts one run.
 */
export const claimStartUpdate = defineUpdate<StartClaimReply, [StartClaim]>(MessageName.ClaimStart);

/**
 * The lock registry: which rollout holds which cluster, one per task queue, shared by every rollout its
 * workers run. Rollouts take and give back their clusters through it (an activity sends the update).
 */
export const lockRegistryId = (taskQueue: string) => `phased-rollout-locks-${taskQueue}`;
/** Every held cluster and its holder. Costs no history. */
export const locksQuery = defineQuery<LockTable>(MessageName.Locks);
/** Takes all the clusters asked for, or none (naming who holds the others). Sent by a rollout's activity. */
export const takeClustersUpdate = defineUpdate<TakeClustersReply, [TakeClustersRequest]>(MessageName.TakeClusters);
/** Gives back every cluster a rollout's run holds; returns how many. Sent by a rollout's activity as it closes. */
export const releaseClustersUpdate = defineUpdate<number, [{ owner: LockOwner }]>(MessageName.ReleaseClusters);

/** A page of a fleet check's rows (every cluster read so far, in the plan's order). Costs no history. */
export const fleetPageQuery = defineQuery<FleetPage, [FleetPageRequest]>(MessageName.FleetPage);

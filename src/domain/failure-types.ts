/**
 * The failure vocabulary: the `type` of every ApplicationFailure the activities and workflows throw, so
 * that code deciding on a failure matches a named member, never a string literal.
 */
export const FailureType = {
  /**
   * The cluster's API server (or Helm's connection to it) did not answer: connection refused or reset,
   * timeouts, DNS, 5xx, 429. Retried with capped backoff for as long as the step's timeout allows; this
   * type is thrown only when that time is used up.
   */
  ClusterUnreachable: 'ClusterUnreachable',
  /** A wait reached its deadline with the cluster answering but the condition still false. */
  Timeout: 'Timeout',
  /** Workloads did not roll out, pods were not Ready, restarted, or a health endpoint failed. */
  VerifyFailed: 'VerifyFailed',
  /** Helm refused for a reason retrying will not mend (chart or version missing, invalid values...). */
  HelmFailed: 'HelmFailed',
  /** The synchronizer Job failed. */
  SynchronizerFailed: 'SynchronizerFailed',
  /** The synchronizer's template is not a Job, or does not render. */
  SynchronizerTemplate: 'SynchronizerTemplate',
  /** A values file the plan names cannot be read or is not YAML. */
  ValuesFile: 'ValuesFile',
  /** Checks before any cluster is touched found the rollout cannot succeed (chart, version, file, render). */
  PreflightFailed: 'PreflightFailed',
  /** Another running rollout holds one of the clusters. */
  ClusterLocked: 'ClusterLocked',
  /** The plan names a kube context the worker's kubeconfig does not have. */
  UnknownContext: 'UnknownContext',
  /** The API server does not serve the kind a check names. */
  UnknownKind: 'UnknownKind',
  /** A local chart cannot be read, or is not the version asked for (helm ignores --version for local charts). */
  LocalChart: 'LocalChart',
  /**
   * A file of the release source cannot be had: a ref that does not exist, a repository that refuses, a
   * path outside the repository, a file missing at the pinned commit or on the worker.
   */
  SourceFile: 'SourceFile',
  /** A local file's content is not what the rollout was started with (its digest changed). */
  SourceChanged: 'SourceChanged',
  /** A notification sink has no URL on the worker, or refused an event for good (a 4xx other than 408/429). */
  NotificationSink: 'NotificationSink',
  /**
   * An approval was refused: unsigned where signatures are required, stale, not by the key it names, by
   * someone who is not an approver, already given, or for a phase that awaits none.
   */
  ApprovalRefused: 'ApprovalRefused',
  /** Any other control (pause, resume, abort, rollback, retry, skip, accept, override-window) was refused. */
  ControlRefused: 'ControlRefused',
  /** A metric analysis failed more measurements than its failureLimit allows. */
  AnalysisFailed: 'AnalysisFailed',
  /** A metric analysis was neither successful nor failed (or its endpoint did not answer): a person decides. */
  AnalysisInconclusive: 'AnalysisInconclusive',
  /** The chart version was marked bad (`rollout deny-version`): it cannot be started. */
  VersionDenied: 'VersionDenied',
  /**
   * A CRD in an operator chart's `crds/` may not replace the cluster's: it drops a stored version, stops
   * serving one objects are stored at, or an existing object does not validate against its schema.
   */
  CrdUnsafe: 'CrdUnsafe',
  /**
   * Argo CD mode: the Application is missing, not handed to this plan, owned by something that would revert
   * the rollout's changes, or changed under the rollout.
   */
  ArgoCd: 'ArgoCd',
  /** Argo CD's sync operation ended Failed or Error, or at other revisions than the ones asked for. */
  ArgoCdSyncFailed: 'ArgoCdSyncFailed',
  /** The rollout's own Argo CD operation made no progress within the step's timeout; it was terminated. */
  ArgoCdSyncStuck: 'ArgoCdSyncStuck',
  /** A release to roll back no longer exists. */
  ReleaseMissing: 'ReleaseMissing',
  /**
   * The API server refused for good: bad request, unauthorised, forbidden, not found, invalid. The type is
   * this prefix and the status code, e.g. KubernetesApi403.
   */
  KubernetesApi: 'KubernetesApi',
  /** A step of one cluster failed; details say which step and where the cluster stood. */
  ClusterStepFailed: 'ClusterStepFailed',
  /** Verification failed during a phase's bake; details name the cluster. */
  BakeVerifyFailed: 'BakeVerifyFailed',
  /**
   * A mutating step was not started: its rollout was stopping (abort, rollback), or, for the first step of
   * a cluster, paused or frozen, when the step would have begun. Nothing was changed.
   */
  Fenced: 'Fenced',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

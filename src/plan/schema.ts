/**
 * The rollout plan: the one source of truth for its shape. Types come from z.infer; the JSON Schema in
 * schemas/ is generated from here. Unknown keys are errors everywhere, so a typo never passes silently.
 */
import { z } from 'zod';
import { notificationEvents } from '../domain/notification-events.js';
import { parseDuration } from './duration.js';
import { cronProblem, timeZoneProblem } from './cron.js';
import { celProblem } from './cel.js';

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// SemVer 2.0.0, as Helm requires of chart versions (https://semver.org).
const semver =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const Name = z
  .string()
  .max(63)
  .regex(dns1123, 'must be a lowercase DNS-1123 label (a-z, 0-9, "-"; starts and ends alphanumeric)');

export const Version = z.string().regex(semver, 'must be a SemVer 2 version such as 1.4.2 or 2.0.0-rc.1');

export const Duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'must be a duration such as 90s, 5m, 1h30m or 0s');

/** A path relative to the plan file's folder. */
export const FileRef = z.string().min(1, 'must be a file path');

const Labels = z.record(
  z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be a Kubernetes label key'),
  z.string().max(63),
);

export const ReleaseSpec = z.strictObject({
  /** How the release is deployed: `helm` (the worker runs Helm against the cluster), the default. */
  driver: z.enum(['helm']).optional(),
  /** Chart reference as Helm takes it: a local path (relative to the plan), repo/chart, or oci:// URL. */
  chart: z.string().min(1),
  /** Chart repository URL (helm --repo), when `chart` is a name in that repository. */
  repository: z.url().optional(),
  version: Version,
  releaseName: Name,
  namespace: Name,
  /** Base values files applied to every cluster, before the cluster's own overlay. */
  values: z.array(FileRef).default([]),
  timeout: Duration.default('10m'),
});

const Template = z.strictObject({
  /** A Job manifest file with {{version}}, {{cluster}}, {{cacheKey}} placeholders. */
  file: FileRef.optional(),
  /** The same, inline. */
  inline: z.record(z.string(), z.unknown()).optional(),
});

export const SynchronizerSpec = z.strictObject({
  template: Template.refine((t) => (t.file === undefined) !== (t.inline === undefined), {
    message: 'set exactly one of file or inline',
  }),
  namespace: Name,
  /** Template of the cache key, e.g. "{{cluster}}/{{version}}". */
  cacheKey: z.string().min(1).default('{{cluster}}/{{version}}'),
  timeout: Duration.default('30m'),
});

const ObjectFieldCheck = z.strictObject({
  type: z.literal('object-field'),
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  namespace: Name.optional(),
  name: z.string().min(1),
  /** Dotted path into the object, e.g. data.readyVersion or status.version. */
  field: z.string().min(1),
  /** Expected value, templated like the synchronizer, e.g. "{{version}}". */
  equals: z.string(),
});

const HttpCheck = z.strictObject({
  type: z.literal('http'),
  url: z.url(),
  expectStatus: z.number().int().min(100).max(599).default(200),
  /** Optional substring the body must contain (templated). */
  bodyContains: z.string().optional(),
});

export const CacheSpec = z.strictObject({
  check: z.discriminatedUnion('type', [ObjectFieldCheck, HttpCheck]),
  timeout: Duration.default('30m'),
});

const WorkloadRef = z.strictObject({
  kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']),
  name: z.string().min(1),
  namespace: Name.optional(),
});

/**
 * A metric analysis, with Argo Rollouts' AnalysisTemplate field names and meanings: `count` measurements,
 * `interval` apart, after `initialDelay`; each is successful, failed or inconclusive by its conditions,
 * and the analysis fails once more than `failureLimit` failed, is inconclusive (the rollout waits for a
 * person) once more than `inconclusiveLimit` were, and succeeds when all `count` were taken.
 */
export const AnalysisTemplate = z
  .strictObject({
    name: Name,
    /**
     * A PromQL query, templated per cluster: {{cluster}}, {{version}}, {{label.KEY}} (the cluster's labels),
     * and {{done}}, the clusters this rollout has already rolled as a regex alternation ("lab-1|lab-2"),
     * to compare the cluster with them.
     */
    query: z.string().min(1),
    interval: Duration.default('30s'),
    count: z.number().int().min(1).default(3),
    initialDelay: Duration.default('0s'),
    /** CEL over `result` (the first series' value) and `results` (every series' value), e.g. "result < 0.05". */
    successCondition: z
      .string()
      .optional()
      .refine((c) => c === undefined || celProblem(c) === undefined, {
        message: 'must be a CEL expression over result and results, such as "result < 0.05"',
      }),
    failureCondition: z
      .string()
      .optional()
      .refine((c) => c === undefined || celProblem(c) === undefined, {
        message: 'must be a CEL expression over result and results, such as "result >= 0.1"',
      }),
    /** Shorthand: successful when min <= result <= max, failed otherwise (instead of the conditions). */
    range: z.strictObject({ min: z.number().optional(), max: z.number().optional() }).optional(),
    failureLimit: z.number().int().min(0).default(0),
    inconclusiveLimit: z.number().int().min(0).default(0),
    /** Measurements that could not be taken (the query endpoint did not answer) in a row before it is inconclusive. */
    consecutiveErrorLimit: z.number().int().min(0).default(4),
    /** What a query that returns no series means. Default inconclusive. */
    noData: z.enum(['inconclusive', 'fail', 'pass']).default('inconclusive'),
  })
  .refine((a) => (a.range === undefined) !== (a.successCondition === undefined && a.failureCondition === undefined), {
    message: 'set range, or successCondition and/or failureCondition',
  });

export const AnalysisSpec = z.strictObject({
  /** The Prometheus HTTP API's base URL (Prometheus, Thanos, Mimir, VictoriaMetrics), e.g. http://prometheus:9090. */
  address: z.url().refine((u) => !urlHasCredentials(u), { message: 'must not carry credentials' }),
  templates: z.array(AnalysisTemplate).min(1),
});

export const VerifySpec = z.strictObject({
  /** "release": every Deployment, StatefulSet and DaemonSet of the chart's release; or an explicit list. */
  workloads: z.union([z.literal('release'), z.array(WorkloadRef).min(1)]).default('release'),
  /**
   * The operator's release, verified right after its upgrade (step verify-operator), before the synchronizer
   * runs: "release" (default), every Deployment, StatefulSet and DaemonSet it declares; an explicit list; or
   * "none" to skip the step. Same timeout and window as the chart's.
   */
  operator: z
    .strictObject({
      workloads: z.union([z.literal('release'), z.literal('none'), z.array(WorkloadRef).min(1)]).default('release'),
    })
    .prefault({}),
  http: z.array(HttpCheck.omit({ type: true })).default([]),
  timeout: Duration.default('10m'),
  /** How often verification repeats during a phase's bake time. */
  interval: Duration.default('30s'),
  /** After the rollout is complete, how long pods must stay Ready without restarting. */
  window: Duration.default('5s'),
  /** Analyses (spec.analysis.templates) each cluster must pass after its workloads verify. */
  analyses: z.array(Name).default([]),
});

export const ClusterSpec = z.strictObject({
  name: Name,
  /** Kube context name in the worker's kubeconfig. Only this name crosses into workflows, never credentials. */
  context: z.string().min(1),
  /** This cluster's values overlay, e.g. overlays/<region>/<cluster>/values.yaml. */
  values: FileRef.optional(),
  labels: Labels.default({}),
});

export const PhaseSpec = z
  .strictObject({
    name: Name,
    clusters: z.array(Name).min(1).optional(),
    selector: z.strictObject({ matchLabels: Labels }).optional(),
    approval: z.enum(['required', 'auto']).default('required'),
    /** Time to wait after the phase, verification repeating, before the next phase may start. */
    bake: Duration.default('0s'),
    maxParallel: z.number().int().min(1).default(1),
    /** Failed clusters the phase tolerates before the failure policy applies. */
    maxFailures: z.number().int().min(0).default(0),
  })
  .refine((p) => (p.clusters === undefined) !== (p.selector === undefined), {
    message: 'set exactly one of clusters or selector',
  });

export const FailurePolicy = z.strictObject({
  /** On failures beyond a phase's maxFailures: wait for a person's decision, or roll back. Default pause. */
  action: z.enum(['pause', 'rollback']).default('pause'),
  /** Which clusters a rollback restores: the phase in progress, or every phase so far. Default phase. */
  rollbackScope: z.enum(['phase', 'all']).default('phase'),
  /**
   * How long each step of a cluster's rollback keeps retrying a cluster that does not answer. When it
   * still cannot finish, the rollout waits for a person (retry the rollback, or accept the cluster as
   * it is) instead of ending. Default 15m.
   */
  rollbackTimeout: Duration.default('15m'),
});

/** A git URL with credentials in it (user:password@, or a token as the user) must never enter a plan. */
export function urlHasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || (u.username !== '' && u.protocol !== 'ssh:');
  } catch {
    return false; // scp-like syntax (git@host:repo.git) names a user, carries no secret
  }
}

export const SourceSpec = z.strictObject({
  /**
   * The config repository the plan's files are read from (base values, overlays, local charts, the
   * synchronizer's template). `rollout start` resolves `ref` to a commit, and the rollout is pinned to that
   * commit for its whole life; workers fetch it themselves.
   */
  git: z.strictObject({
    /** Any URL git fetches from (https://, ssh://, git://, file://, git@host:repo). No credentials in it. */
    url: z
      .string()
      .min(1)
      .refine((u) => !urlHasCredentials(u), {
        message:
          'must not carry credentials; use git credential helpers or SSH keys on the worker, or name an environment variable in tokenEnv',
      }),
    /** Branch, tag or commit to pin at start. Default main. */
    ref: z.string().min(1).default('main'),
    /** Folder inside the repository the plan's relative paths start from. Default: the repository's root. */
    path: z
      .string()
      .default('.')
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
        message: 'must be a relative folder inside the repository (no leading / and no ..)',
      }),
    /** Name of an environment variable on the worker (and the CLI) holding a token for HTTPS access. */
    tokenEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
  }),
});

/** What a notification is about; each sink subscribes to some. */
export const NotificationEvent = z.enum(notificationEvents);

export const NotificationSink = z.strictObject({
  name: Name,
  /** webhook: CloudEvents 1.0 structured JSON; slack: a Slack incoming webhook's {text}. */
  type: z.enum(['webhook', 'slack']),
  /**
   * Where the worker finds the URL: an environment variable or a file on the worker. The URL is a secret
   * (it carries its token), so the plan names where it is, never the URL itself.
   */
  urlFrom: z
    .strictObject({
      env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
        .optional(),
      file: z.string().min(1).optional(),
    })
    .refine((u) => (u.env === undefined) !== (u.file === undefined), { message: 'set exactly one of env or file' }),
  /** The events this sink hears. Default: approval-needed, failures, and how the rollout finished. */
  events: z.array(NotificationEvent).min(1).optional(),
});

/**
 * A deploy window (as Argo CD's sync windows): `allow` windows are when clusters may start, `deny` windows
 * when they may not; deny wins over allow, and without windows a cluster may always start.
 */
export const DeployWindow = z.strictObject({
  name: Name,
  kind: z.enum(['allow', 'deny']),
  /** When each occurrence opens: a cron expression (5 fields, or 6 with seconds first), in `timeZone`. */
  schedule: z
    .string()
    .refine((s) => cronProblem(s) === undefined, { message: 'must be a cron expression such as "0 8 * * 1-5"' }),
  /** How long each occurrence stays open. */
  duration: Duration,
  /** IANA time zone the schedule is read in, e.g. Europe/Paris. Default UTC. */
  timeZone: z
    .string()
    .default('UTC')
    .refine((z) => timeZoneProblem(z) === undefined, { message: 'must be an IANA time zone such as Europe/Paris' }),
  /** What it applies to: these phases, these clusters, or clusters with these labels. Default every cluster. */
  phases: z.array(Name).optional(),
  clusters: z.array(Name).optional(),
  selector: z.strictObject({ matchLabels: Labels }).optional(),
});

/** Who must approve a gate, and how their identity is proven. */
export const ApprovalPolicy = z.strictObject({
  /**
   * An allowed-signers file (ssh-keygen's format: "principal key-type key" per line) in the release source,
   * so changing who may approve is itself a reviewed change. With it, every approval must be signed with
   * the approver's SSH key (`rollout approve --sign-with KEY`) and the worker verifies it (`ssh-keygen -Y
   * verify`); without it, approvals are names as claimed, and `status` says so.
   */
  allowedSigners: FileRef.optional(),
  /** Distinct people who must approve each gate. Default 1. */
  minApprovals: z.number().int().min(1).default(1),
  /** Whether the person who started the rollout may approve it. Default false: they may. */
  forbidInitiator: z.boolean().default(false),
  /**
   * Who each gate needs among its approvers, whoever else approves: a person by name, or `group:NAME`
   * for at least one member of that group.
   */
  required: z.array(z.string().min(1)).default([]),
  /** Named groups of people, for `required` (`group:NAME`); kept in the plan, so a change to one is reviewed. */
  groups: z.record(Name, z.array(z.string().min(1)).min(1)).optional(),
});

export const RolloutPlan = z.strictObject({
  apiVersion: z.literal('phased-rollout.dev/v1alpha1'),
  kind: z.literal('RolloutPlan'),
  metadata: z.strictObject({ name: Name, description: z.string().optional() }),
  spec: z.strictObject({
    /** Where the plan's files come from; without it, the plan's own folder (pinned by content digests). */
    source: SourceSpec.optional(),
    release: z.strictObject({ operator: ReleaseSpec, chart: ReleaseSpec }),
    synchronizer: SynchronizerSpec.optional(),
    cache: CacheSpec.optional(),
    verify: VerifySpec.prefault({}),
    clusters: z.array(ClusterSpec).min(1),
    phases: z.array(PhaseSpec).min(1),
    onFailure: FailurePolicy.prefault({}),
    /** When set, only these people may approve or decide. */
    approvers: z.array(z.string().min(1)).optional(),
    /** Metric analyses: where to query, and the analyses verify.analyses names. */
    analysis: AnalysisSpec.optional(),
    /** How gates are approved: how many people, who must, and signatures that prove who they are. */
    approvals: ApprovalPolicy.optional(),
    /** When clusters may start (allow) or may not (deny). */
    windows: z.array(DeployWindow).optional(),
    /**
     * What a cluster already in flight does when its window closes: `finish` (default), or `pause` before
     * its next step until a window opens again.
     */
    windowPolicy: z.strictObject({ inFlight: z.enum(['finish', 'pause']).default('finish') }).optional(),
    /** Who hears what: sinks delivered to by the worker, at least once, never holding the rollout back. */
    notifications: z.strictObject({ sinks: z.array(NotificationSink).min(1) }).optional(),
  }),
});

export type RolloutPlan = z.infer<typeof RolloutPlan>;
export type RolloutPlanInput = z.input<typeof RolloutPlan>;
export type ReleaseSpec = z.infer<typeof ReleaseSpec>;
export type ClusterSpec = z.infer<typeof ClusterSpec>;
export type PhaseSpec = z.infer<typeof PhaseSpec>;
export type CacheSpec = z.infer<typeof CacheSpec>;
export type VerifySpec = z.infer<typeof VerifySpec>;
export type SynchronizerSpec = z.infer<typeof SynchronizerSpec>;
export type FailurePolicy = z.infer<typeof FailurePolicy>;
export type SourceSpec = z.infer<typeof SourceSpec>;
export type DeployWindow = z.infer<typeof DeployWindow>;
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;
export type AnalysisTemplate = z.infer<typeof AnalysisTemplate>;
export type NotificationSink = z.infer<typeof NotificationSink>;

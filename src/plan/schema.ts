/**
 * The rollout plan: the one source of truth for its shape. Types come from z.infer; the JSON Schema in
 * schemas/ is generated from here. Unknown keys are errors everywhere, so a typo never passes silently.
 */
import { z } from 'zod';
import { notificationEvents } from '../domain/notification-events.js';
import { parseDuration } from './duration.js';
import { cronProblem, timeZoneProblem } from './cron.js';
import { celProblem } from './cel.js';
import { semverPattern as semver } from './semver.js';

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const Name = z
  .string()
  .max(63)
  .regex(dns1123, 'must be a lowercase DNS-1123 label (a-z, 0-9, "-"; starts and ends alphanumeric)');

export const Version = z.string().regex(semver, 'must be a SemVer 2 version such as 1.4.2 or 2.0.0-rc.1');

export const Duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'must be a duration such as 90s, 5m, 1h30m or 0s');

export const FileRef = z.string().min(1, 'must be a file path').describe("A path relative to the plan file's folder.");

const Labels = z.record(
  z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be a Kubernetes label key'),
  z.string().max(63),
);

/** Why a chart reference or repository URL may not carry credentials, and what to do instead. */
const registryCredentialsMessage =
  'must not carry credentials: they would be in the history of every rollout, cluster and step. Declare them on the worker (chartRepositories in its ROLLOUT_CREDENTIALS file), bound to this URL';

/** With `driver: argocd`: the Argo CD that applies the release, and each cluster's Application there. */
export const ArgoCdSpec = z.strictObject({
  context: z
    .string()
    .min(1)
    .describe(
      "Kube context, in the worker's kubeconfig, of the cluster Argo CD runs on (its control cluster): the only cluster the release steps reach in this mode.",
    ),
  namespace: Name.default('argocd').describe("The namespace of Argo CD's Applications. Default argocd."),
  application: z
    .string()
    .min(1)
    .default('{{cluster}}-{{releaseName}}')
    .describe(
      "Each cluster's Application, by name: a template with {{cluster}} and {{releaseName}}. Default {{cluster}}-{{releaseName}}. The Application must exist and carry the annotation phased-rollout.io/plan naming this plan.",
    ),
  healthyGrace: Duration.default('10s').describe(
    'How long an Application must stay Healthy after its sync ends before the cluster counts as deployed (Argo CD can report Healthy before the workloads have moved). Default 10s.',
  ),
});

export const ReleaseSpec = z.strictObject({
  driver: z
    .enum(['helm', 'argocd'])
    .optional()
    .describe(
      "How the release is deployed: `helm` (the worker runs Helm against the cluster), the default; or `argocd` (the worker pins and syncs each cluster's existing Argo CD Application, see `argocd`).",
    ),
  argocd: ArgoCdSpec.optional().describe("Where each cluster's Argo CD Application is, with `driver: argocd`."),
  chart: z
    .string()
    .min(1)
    .refine((c) => !c.startsWith('oci://') || !urlHasCredentials(c), { message: registryCredentialsMessage })
    .describe('Chart reference as Helm takes it: a local path (relative to the plan), repo/chart, or oci:// URL.'),
  repository: z
    .url()
    .refine((u) => !urlHasCredentials(u), { message: registryCredentialsMessage })
    .optional()
    .describe('Chart repository URL (helm --repo), when `chart` is a name in that repository. No credentials in it.'),
  version: Version.describe(
    'The version to roll when `rollout start` is given none (--chart-version, --operator-version).',
  ),
  releaseName: Name.describe("The Helm release's name on every cluster."),
  namespace: Name.describe('The namespace the release is installed in.'),
  values: z
    .array(FileRef)
    .default([])
    .describe("Base values files applied to every cluster, before the cluster's own overlay."),
  timeout: Duration.default('10m').describe(
    'How long one upgrade may take (helm --timeout), and how long an unreachable cluster is retried. Default 10m.',
  ),
  crds: z
    .enum(['apply', 'skip'])
    .default('apply')
    .describe(
      "What happens to the CRDs in the chart's crds/ folder, which Helm installs once and never upgrades: `apply` (the default) checks each against the cluster's (stored versions kept, existing objects still valid) and applies it with server-side apply before the release is upgraded; `skip` leaves them as they are, and the diff says so. A rollback never deletes or downgrades a CRD.",
    ),
});

const Template = z.strictObject({
  file: FileRef.optional().describe('A Job manifest file with {{version}}, {{cluster}}, {{cacheKey}} placeholders.'),
  inline: z.record(z.string(), z.unknown()).optional().describe('The same, inline.'),
});

export const SynchronizerSpec = z.strictObject({
  template: Template.refine((t) => (t.file === undefined) !== (t.inline === undefined), {
    message: 'set exactly one of file or inline',
  }).describe(
    'The synchronizer Job: a file or an inline manifest, with {{version}}, {{cluster}} and {{cacheKey}} filled in.',
  ),
  namespace: Name.describe('Where the Job runs on each cluster.'),
  cacheKey: z
    .string()
    .min(1)
    .default('{{cluster}}/{{version}}')
    .describe('Template of the cache key, e.g. "{{cluster}}/{{version}}".'),
  timeout: Duration.default('30m').describe('How long the Job may run before the step fails. Default 30m.'),
});

const ObjectFieldCheck = z.strictObject({
  type: z.literal('object-field').describe('Ready when a field of a Kubernetes object equals a value.'),
  apiVersion: z.string().min(1).describe("The object's apiVersion, e.g. v1 or cache.example.com/v1."),
  kind: z.string().min(1).describe("The object's kind, e.g. ConfigMap."),
  namespace: Name.optional().describe("The object's namespace; unset for a cluster-scoped object."),
  name: z.string().min(1).describe("The object's name (templated, e.g. cache-{{version}})."),
  field: z.string().min(1).describe('Dotted path into the object, e.g. data.readyVersion or status.version.'),
  equals: z.string().describe('Expected value, templated like the synchronizer, e.g. "{{version}}".'),
});

const HttpCheck = z.strictObject({
  type: z.literal('http').describe('Ready when an HTTP endpoint answers with the status (and body text) expected.'),
  url: z.url().describe('The endpoint to ask (templated).'),
  expectStatus: z
    .number()
    .int()
    .min(100)
    .max(599)
    .default(200)
    .describe('The HTTP status that means ready. Default 200.'),
  bodyContains: z.string().optional().describe('Optional substring the body must contain (templated).'),
});

export const CacheSpec = z.strictObject({
  check: z
    .discriminatedUnion('type', [ObjectFieldCheck, HttpCheck])
    .describe('How the worker tells the cache is ready for the version (step wait-cache, and `rollout fleet`).'),
  timeout: Duration.default('30m').describe('How long to wait for the cache before the step fails. Default 30m.'),
});

const WorkloadRef = z.strictObject({
  kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']).describe("The workload's kind."),
  name: z.string().min(1).describe("The workload's name."),
  namespace: Name.optional().describe("Its namespace; the release's by default."),
});

/** What proves one component good on a cluster once it is upgraded (and again during a bake). */
const ComponentVerify = z.strictObject({
  workloads: z
    .union([z.literal('release'), z.literal('none'), z.array(WorkloadRef).min(1)])
    .default('release')
    .describe(
      '"release" (default): every Deployment, StatefulSet and DaemonSet the component\'s release declares; an explicit list; or "none".',
    ),
  http: z
    .array(HttpCheck.omit({ type: true }))
    .default([])
    .describe('HTTP endpoints that must answer as expected once its workloads are rolled out (templated).'),
});

export const ComponentSpec = ReleaseSpec.extend({
  name: Name.describe(
    "The component's name: `rollout start --set NAME=VERSION`, overlays, status, diff and fleet name it.",
  ),
  selector: z
    .strictObject({ matchLabels: Labels.describe("Every label here must match the cluster's.") })
    .optional()
    .describe(
      'Only clusters with these labels get this component (an "accelerator" exists on some sites only); the others skip it, and status says so.',
    ),
  verify: ComponentVerify.prefault({}).describe(
    "What proves it good after its upgrade; timeout, interval and window are spec.verify's.",
  ),
});

/** The synchronizer Job and the cache wait, as a step placed in the components' order. */
const SynchronizerStep = z.strictObject({
  step: z
    .literal('synchronizer')
    .describe(
      "Runs spec.synchronizer's Job, waits for spec.cache, and removes the Job, before the next component (the one that needs the cache; its version is the cache's {{version}}).",
    ),
});

export const AnalysisTemplate = z
  .strictObject({
    name: Name.describe('What verify.analyses calls it.'),
    query: z
      .string()
      .min(1)
      .describe(
        'A PromQL query, templated per cluster: {{cluster}}, {{version}}, {{label.KEY}} (the cluster\'s labels), and {{done}}, the clusters this rollout has already rolled as a regex alternation ("lab-1|lab-2"), to compare the cluster with them.',
      ),
    interval: Duration.default('30s').describe('Time between measurements. Default 30s.'),
    count: z.number().int().min(1).default(3).describe('Measurements to take. Default 3.'),
    initialDelay: Duration.default('0s').describe('Wait before the first measurement. Default 0s.'),
    successCondition: z
      .string()
      .optional()
      .refine((c) => c === undefined || celProblem(c) === undefined, {
        message: 'must be a CEL expression over result and results, such as "result < 0.05"',
      })
      .describe(
        'CEL over `result` (the first series\' value) and `results` (every series\' value), e.g. "result < 0.05".',
      ),
    failureCondition: z
      .string()
      .optional()
      .refine((c) => c === undefined || celProblem(c) === undefined, {
        message: 'must be a CEL expression over result and results, such as "result >= 0.1"',
      })
      .describe('CEL over `result` and `results` that marks a measurement failed, e.g. "result >= 0.1".'),
    range: z
      .strictObject({
        min: z.number().optional().describe('Lowest successful value.'),
        max: z.number().optional().describe('Highest successful value.'),
      })
      .optional()
      .describe('Shorthand: successful when min <= result <= max, failed otherwise (instead of the conditions).'),
    failureLimit: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Failed measurements tolerated; one more fails the analysis. Default 0.'),
    inconclusiveLimit: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Inconclusive measurements tolerated; one more makes the analysis inconclusive. Default 0.'),
    consecutiveErrorLimit: z
      .number()
      .int()
      .min(0)
      .default(4)
      .describe(
        'Measurements that could not be taken (the query endpoint did not answer) in a row before it is inconclusive.',
      ),
    noData: z
      .enum(['inconclusive', 'fail', 'pass'])
      .default('inconclusive')
      .describe('What a query that returns no series means. Default inconclusive.'),
  })
  .refine((a) => (a.range === undefined) !== (a.successCondition === undefined && a.failureCondition === undefined), {
    message: 'set range, or successCondition and/or failureCondition',
  })
  .describe(
    "A metric analysis, with Argo Rollouts' AnalysisTemplate field names and meanings: `count` measurements, `interval` apart, after `initialDelay`; each is successful, failed or inconclusive by its conditions, and the analysis fails once more than `failureLimit` failed, is inconclusive (the rollout waits for a person) once more than `inconclusiveLimit` were, and succeeds when all `count` were taken.",
  );

export const AnalysisSpec = z.strictObject({
  address: z
    .url()
    .refine((u) => !urlHasCredentials(u), { message: 'must not carry credentials' })
    .describe(
      "The Prometheus HTTP API's base URL (Prometheus, Thanos, Mimir, VictoriaMetrics), e.g. http://prometheus:9090.",
    ),
  templates: z
    .array(AnalysisTemplate)
    .min(1)
    .describe('The analyses clusters may be asked to pass (verify.analyses names them).'),
});

export const VerifySpec = z.strictObject({
  workloads: z
    .union([z.literal('release'), z.array(WorkloadRef).min(1)])
    .default('release')
    .describe('"release": every Deployment, StatefulSet and DaemonSet of the chart\'s release; or an explicit list.'),
  operator: z
    .strictObject({
      workloads: z
        .union([z.literal('release'), z.literal('none'), z.array(WorkloadRef).min(1)])
        .default('release')
        .describe('"release" (default), "none", or an explicit list of the operator\'s workloads.'),
    })
    .prefault({})
    .describe(
      'The operator\'s release, verified right after its upgrade (step verify-operator), before the synchronizer runs: "release" (default), every Deployment, StatefulSet and DaemonSet it declares; an explicit list; or "none" to skip the step. Same timeout and window as the chart\'s.',
    ),
  http: z
    .array(HttpCheck.omit({ type: true }))
    .default([])
    .describe('HTTP endpoints that must answer as expected once the workloads are rolled out.'),
  timeout: Duration.default('10m').describe('How long verification may take before the step fails. Default 10m.'),
  interval: Duration.default('30s').describe("How often verification repeats during a phase's bake time."),
  window: Duration.default('5s').describe(
    'After the rollout is complete, how long pods must stay Ready without restarting.',
  ),
  analyses: z
    .array(Name)
    .default([])
    .describe('Analyses (spec.analysis.templates) each cluster must pass after its workloads verify.'),
});

export const ClusterSpec = z.strictObject({
  name: Name.describe("The cluster's name in this plan (phases and windows name it)."),
  context: z
    .string()
    .min(1)
    .describe(
      "Kube context name in the worker's kubeconfig. Only this name crosses into workflows, never credentials.",
    ),
  values: FileRef.optional().describe(
    "This cluster's values overlay for the product's chart, e.g. overlays/<region>/<cluster>/values.yaml.",
  ),
  operatorValues: FileRef.optional().describe(
    "This cluster's values overlay for the operator's chart (its name, its cloud identity), applied after the operator's base values.",
  ),
  overlays: z
    .record(Name, FileRef)
    .default({})
    .describe(
      "This cluster's values overlay per component, by component name, applied after that component's base values (with the shorthand, `values` and `operatorValues` are the chart's and the operator's).",
    ),
  labels: Labels.default({}).describe(
    'Labels phases and windows select clusters by (matchLabels), and {{label.KEY}} in analysis queries.',
  ),
});

export const PhaseSpec = z
  .strictObject({
    name: Name.describe("The phase's name (canary, wave-1): `rollout approve --phase` names it."),
    clusters: z.array(Name).min(1).optional().describe('The clusters of this phase, by name (or use selector).'),
    selector: z
      .strictObject({ matchLabels: Labels.describe("Every label here must match the cluster's.") })
      .optional()
      .describe('The clusters of this phase, by label: those not in an earlier phase.'),
    approval: z
      .enum(['required', 'auto'])
      .default('required')
      .describe("Whether a person approves the phase's gate (its diff shown) before it starts. Default required."),
    bake: Duration.default('0s').describe(
      'Time to wait after the phase, verification repeating, before the next phase may start.',
    ),
    maxParallel: z.number().int().min(1).default(1).describe('Clusters of the phase rolled at once. Default 1.'),
    maxFailures: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Failed clusters the phase tolerates before the failure policy applies.'),
  })
  .refine((p) => (p.clusters === undefined) !== (p.selector === undefined), {
    message: 'set exactly one of clusters or selector',
  });

export const FailurePolicy = z.strictObject({
  action: z
    .enum(['pause', 'rollback'])
    .default('pause')
    .describe("On failures beyond a phase's maxFailures: wait for a person's decision, or roll back. Default pause."),
  rollbackScope: z
    .enum(['phase', 'all'])
    .default('phase')
    .describe('Which clusters a rollback restores: the phase in progress, or every phase so far. Default phase.'),
  rollbackTimeout: Duration.default('15m').describe(
    "How long each step of a cluster's rollback keeps retrying a cluster that does not answer. When it still cannot finish, the rollout waits for a person (retry the rollback, or accept the cluster as it is) instead of ending. Default 15m.",
  ),
});

/** A URL with credentials in it (user:password@, or a token as the user) must never enter a plan. */
export function urlHasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || (u.username !== '' && u.protocol !== 'ssh:');
  } catch {
    return false; // scp-like syntax (git@host:repo.git) names a user, carries no secret
  }
}

export const SourceSpec = z.strictObject({
  git: z
    .strictObject({
      url: z
        .string()
        .min(1)
        .refine((u) => !urlHasCredentials(u), {
          message:
            "must not carry credentials; use git credential helpers or SSH keys on the worker, or name one of the worker's credentials in credential",
        })
        .describe('Any URL git fetches from (https://, ssh://, git://, file://, git@host:repo). No credentials in it.'),
      ref: z.string().min(1).default('main').describe('Branch, tag or commit to pin at start. Default main.'),
      path: z
        .string()
        .default('.')
        .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
          message: 'must be a relative folder inside the repository (no leading / and no ..)',
        })
        .describe("Folder inside the repository the plan's relative paths start from. Default: the repository's root."),
      credential: Name.optional().describe(
        "A credential the worker declares (ROLLOUT_CREDENTIALS) for HTTPS access, by name. The worker sends it only to the URLs its declaration allows and refuses the start otherwise; on the CLI, git's own credential helpers serve when the person's machine does not declare it.",
      ),
      tokenEnv: z
        .unknown()
        .optional()
        .refine((v) => v === undefined, {
          message:
            "is gone: a plan cannot choose which of the worker's variables goes to which host. Declare the token as a credential on the worker (ROLLOUT_CREDENTIALS) and name it in credential",
        })
        .describe('Removed; see credential.'),
    })
    .describe(
      "The config repository the plan's files are read from (base values, overlays, local charts, the synchronizer's template). `rollout start` resolves `ref` to a commit, and the rollout is pinned to that commit for its whole life; workers fetch it themselves.",
    ),
});

export const NotificationEvent = z
  .enum(notificationEvents)
  .describe('What a notification is about; each sink subscribes to some.');

/** The only environment variables of the worker's a plan may name: those that hold sink URLs. */
export const sinkUrlEnvPrefix = 'ROLLOUT_SINK_';

export const NotificationSink = z.strictObject({
  name: Name.describe("The sink's name, in messages and the worker's log (never its URL)."),
  type: z
    .enum(['webhook', 'slack'])
    .describe("webhook: CloudEvents 1.0 structured JSON; slack: a Slack incoming webhook's {text}."),
  urlFrom: z
    .strictObject({
      env: z
        .string()
        .regex(
          new RegExp(`^${sinkUrlEnvPrefix}[A-Za-z0-9_]+$`),
          `must be an environment variable whose name starts with ${sinkUrlEnvPrefix} (the worker's sink URLs; a plan cannot name its other variables)`,
        )
        .optional()
        .describe(
          `An environment variable of the worker that holds the URL; its name starts with ${sinkUrlEnvPrefix}.`,
        ),
      file: z
        .string()
        .regex(
          /^(?!\.\.?$)[A-Za-z0-9._-]+$/,
          'must be a file name (no folder): the worker reads it from the sink URL folder its configuration names',
        )
        .optional()
        .describe(
          "A file name in the worker's sink URL folder (`sinkUrlFolder` in ROLLOUT_CREDENTIALS) that holds the URL.",
        ),
    })
    .refine((u) => (u.env === undefined) !== (u.file === undefined), { message: 'set exactly one of env or file' })
    .describe(
      'Where the worker finds the URL: an environment variable or a file on the worker. The URL is a secret (it carries its token), so the plan names where it is, never the URL itself.',
    ),
  events: z
    .array(NotificationEvent)
    .min(1)
    .optional()
    .describe('The events this sink hears. Default: approval-needed, failures, and how the rollout finished.'),
});

export const DeployWindow = z
  .strictObject({
    name: Name.describe("The window's name: `rollout override-window --window` names it."),
    kind: z.enum(['allow', 'deny']).describe('allow: clusters may start while it is open; deny: they may not.'),
    schedule: z
      .string()
      .refine((s) => cronProblem(s) === undefined, { message: 'must be a cron expression such as "0 8 * * 1-5"' })
      .describe('When each occurrence opens: a cron expression (5 fields, or 6 with seconds first), in `timeZone`.'),
    duration: Duration.describe('How long each occurrence stays open.'),
    timeZone: z
      .string()
      .default('UTC')
      .refine((z) => timeZoneProblem(z) === undefined, { message: 'must be an IANA time zone such as Europe/Paris' })
      .describe('IANA time zone the schedule is read in, e.g. Europe/Paris. Default UTC.'),
    phases: z
      .array(Name)
      .optional()
      .describe(
        'What it applies to: these phases, these clusters, or clusters with these labels. Default every cluster.',
      ),
    clusters: z.array(Name).optional().describe('The clusters it applies to, by name.'),
    selector: z
      .strictObject({ matchLabels: Labels.describe("Every label here must match the cluster's.") })
      .optional()
      .describe('The clusters it applies to, by label.'),
  })
  .describe(
    "A deploy window (as Argo CD's sync windows): `allow` windows are when clusters may start, `deny` windows when they may not; deny wins over allow, and without windows a cluster may always start.",
  );

export const ApprovalPolicy = z
  .strictObject({
    allowedSigners: FileRef.optional().describe(
      'An allowed-signers file (ssh-keygen\'s format: "principal key-type key" per line) in the release source, so changing who may approve is itself a reviewed change. With it, every approval must be signed with the approver\'s SSH key (`rollout approve --sign-with KEY`) and the worker verifies it (`ssh-keygen -Y verify`); without it, approvals are names as claimed, and `status` says so.',
    ),
    minApprovals: z.number().int().min(1).default(1).describe('Distinct people who must approve each gate. Default 1.'),
    forbidInitiator: z
      .boolean()
      .default(false)
      .describe('Whether the person who started the rollout may approve it. Default false: they may.'),
    required: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Who each gate needs among its approvers, whoever else approves: a person by name, or `group:NAME` for at least one member of that group.',
      ),
    groups: z
      .record(Name, z.array(z.string().min(1)).min(1))
      .optional()
      .describe(
        'Named groups of people, for `required` (`group:NAME`); kept in the plan, so a change to one is reviewed.',
      ),
  })
  .describe('Who must approve a gate, and how their identity is proven.');

export const RolloutPlan = z.strictObject({
  apiVersion: z.literal('phased-rollout.dev/v1alpha1').describe("The plan format's version."),
  kind: z.literal('RolloutPlan').describe('Always RolloutPlan.'),
  metadata: z
    .strictObject({
      name: Name.describe("The plan's name: rollout IDs (rollout-<name>-<version>), freezes and searches use it."),
      description: z.string().optional().describe('For people.'),
    })
    .describe("The plan's name and description."),
  spec: z
    .strictObject({
      source: SourceSpec.optional().describe(
        "Where the plan's files come from; without it, the plan's own folder (pinned by content digests).",
      ),
      release: z
        .strictObject({
          components: z
            .array(z.union([SynchronizerStep, ComponentSpec]))
            .min(1)
            .optional()
            .describe(
              "The release's components, in the order each cluster gets them: each a chart of its own, with `- step: synchronizer` placed before the component that needs the cache.",
            ),
          operator: ReleaseSpec.optional().describe(
            "Shorthand for two components, `operator` then (after the synchronizer) `chart`: the operator's chart.",
          ),
          chart: ReleaseSpec.optional().describe(
            "With `operator`: the product's chart, upgraded once the cache is ready, with each cluster's values.",
          ),
        })
        .refine((r) => (r.components === undefined) !== (r.operator === undefined && r.chart === undefined), {
          message: 'set components, or operator and chart (its shorthand), not both',
        })
        .refine((r) => r.components !== undefined || (r.operator !== undefined && r.chart !== undefined), {
          message: 'the shorthand needs both operator and chart; for anything else list components',
        })
        .describe(
          'What the rollout rolls: an ordered list of components, or its shorthand `operator` and `chart` (operator, synchronizer, chart).',
        ),
      synchronizer: SynchronizerSpec.optional().describe(
        "The Job that builds a cluster's cache for the new version, after the operator's upgrade.",
      ),
      cache: CacheSpec.optional().describe('How to tell the cache is ready before the chart is upgraded.'),
      verify: VerifySpec.prefault({}).describe(
        "What makes a cluster's upgrade good: workloads rolled out and Ready, endpoints, analyses.",
      ),
      clusters: z
        .array(ClusterSpec)
        .min(1)
        .describe('Every cluster the plan rolls, with its kube context and values overlay.'),
      phases: z
        .array(PhaseSpec)
        .min(1)
        .describe('The clusters in canary order: each phase after the one before, through its gate.'),
      onFailure: FailurePolicy.prefault({}).describe(
        'What happens when clusters fail: wait for a person, or roll back.',
      ),
      approvers: z.array(z.string().min(1)).optional().describe('When set, only these people may approve or decide.'),
      analysis: AnalysisSpec.optional().describe(
        'Metric analyses: where to query, and the analyses verify.analyses names.',
      ),
      approvals: ApprovalPolicy.optional().describe(
        'How gates are approved: how many people, who must, and signatures that prove who they are.',
      ),
      windows: z.array(DeployWindow).optional().describe('When clusters may start (allow) or may not (deny).'),
      windowPolicy: z
        .strictObject({
          inFlight: z
            .enum(['finish', 'pause'])
            .default('finish')
            .describe('finish (default): a cluster in flight finishes; pause: it waits before its next step.'),
        })
        .optional()
        .describe(
          'What a cluster already in flight does when its window closes: `finish` (default), or `pause` before its next step until a window opens again.',
        ),
      notifications: z
        .strictObject({ sinks: z.array(NotificationSink).min(1).describe('Where notifications go.') })
        .optional()
        .describe('Who hears what: sinks delivered to by the worker, at least once, never holding the rollout back.'),
    })
    .describe('What the rollout rolls, where, in which order, and what makes it good.'),
});

export type RolloutPlan = z.infer<typeof RolloutPlan>;
export type RolloutPlanInput = z.input<typeof RolloutPlan>;
export type ReleaseSpec = z.infer<typeof ReleaseSpec>;
export type ComponentSpec = z.infer<typeof ComponentSpec>;
export type ComponentVerify = z.infer<typeof ComponentVerify>;
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

/**
 * The lab's Argo CD (`npm run lab -- up --argocd`): a real Argo CD built from Go modules, run as local
 * processes against a control cluster of its own (kwok-argocd), as a platform team runs it beside their
 * workload clusters:
 * - its CRDs and base configuration applied to the control cluster, namespace argocd;
 * - redis-server (Debian), the repo server, the application controller and the ApplicationSet controller,
 *   all on loopback;
 * - every lab cluster registered as a destination (a cluster Secret with its client certificate), and the
 *   control cluster itself as `argocd` (where a parent Application of an app of apps puts its children);
 * - an Application per lab cluster, `<cluster>-express`, handed to the lab-argocd plan: the express chart
 *   from the lab's chart repository, its values from the lab's config repository at a commit, auto-sync
 *   with self-heal on, synced to the baseline the lab installs.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureDebianTool } from '../src/tools/debian.js';
import { ensureTool } from '../src/tools/toolchain.js';

/** What the lab gives Argo CD's setup (lab.ts, which imports this file). */
export interface LabParts {
  state: {
    dir: string;
    kubeconfig: string;
    clusters: string[];
    repoUrl: string;
    git?: { url: string; worktree: string };
    argocd?: ArgoCdLab;
  };
  tools: { kubectl: string; helm: string; env: NodeJS.ProcessEnv };
  run: (cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string) => Promise<string>;
  createCluster: (name: string) => Promise<void>;
  /** Written after each process starts, so `lab down` stops what started even if setup fails. */
  save: () => void;
  baselineVersion: string;
}

/** The control cluster's name (its context is kwok-argocd). */
export const argocdCluster = 'argocd';
export const argocdContext = `kwok-${argocdCluster}`;
export const argocdNamespace = 'argocd';
/** The plan the lab's Applications are handed to (rollout-plans/lab-argocd.yaml). */
export const argocdPlan = 'lab-argocd';

export interface ArgoCdLab {
  context: string;
  namespace: string;
  /** redis-server, the repo server, the application controller and the ApplicationSet controller. */
  pids: number[];
  applications: string[];
  /** The config repository commit the baseline Applications were pinned to. */
  baselineCommit: string;
}

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** The Application of a lab cluster's express release. */
export const applicationOf = (cluster: string) => `${cluster}-express`;

export async function startArgoCd(parts: LabParts, log: (l: string) => void): Promise<ArgoCdLab> {
  const { state, tools: t, run, baselineVersion } = parts;
  const save = () => parts.save();
  const argocd = await ensureTool('argocd', log);
  const redis = await ensureDebianTool('redis-server', log);
  const git = await ensureDebianTool('git', log);
  const bundle = dirname(dirname(argocd));
  const dir = join(state.dir, 'argocd');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const component of ['argocd-repo-server', 'argocd-application-controller', 'argocd-applicationset-controller']) {
    const link = join(dir, 'bin', component);
    if (!existsSync(link)) symlinkSync(argocd, link);
  }
  log(`[lab] creating Argo CD's control cluster ${argocdCluster}`);
  await parts.createCluster(argocdCluster);
  const lab: ArgoCdLab = {
    context: argocdContext,
    namespace: argocdNamespace,
    pids: [],
    applications: [],
    baselineCommit: '',
  };
  state.argocd = lab;
  save();
  const kubectl = (args: string[], input?: string) =>
    run(t.kubectl, ['--kubeconfig', state.kubeconfig, '--context', argocdContext, ...args], t.env, input);
  await kubectl(['apply', '--server-side', '-k', join(bundle, 'manifests', 'crds')]);
  await kubectl(['create', 'namespace', argocdNamespace]);
  await kubectl(['-n', argocdNamespace, 'apply', '-k', join(bundle, 'manifests', 'base', 'config')]);
  // Every CRD served before any object of theirs is written (the AppProject below, the Applications).
  // kubectl wait fails at once instead of waiting while a new CRD's status.conditions is still null
  // ("accessor error: <nil>", seen once in CI); the API server fills them a moment later: ask again.
  for (let attempt = 1; ; attempt++) {
    try {
      await kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/applications.argoproj.io',
        'crd/appprojects.argoproj.io',
        'crd/applicationsets.argoproj.io',
      ]);
      break;
    } catch (err) {
      if (attempt >= 5 || !/accessor error/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'default', namespace: argocdNamespace },
      spec: {
        sourceRepos: ['*'],
        destinations: [{ server: '*', name: '*', namespace: '*' }],
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      },
    }),
  );

  /** One context of the lab's kubeconfig on its own, credentials inlined. */
  const contextConfig = (context: string) =>
    run(
      t.kubectl,
      ['--kubeconfig', state.kubeconfig, 'config', 'view', '--raw', '--flatten', '--minify', '--context', context],
      t.env,
    );
  // The controller reads its own cluster only through this file; the destinations through their Secrets.
  const controlKubeconfig = join(dir, 'kubeconfig');
  writeFileSync(controlKubeconfig, await contextConfig(argocdContext), { mode: 0o600 });

  const redisPort = port('LAB_ARGOCD_REDIS_PORT', 6390);
  const repoPort = port('LAB_ARGOCD_REPO_PORT', 18081);
  const start = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const out = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...env },
      cwd: dir,
    });
    closeSync(out);
    child.unref();
    lab.pids.push(child.pid as number);
    save();
    return child;
  };
  log('[lab] starting redis-server, the Argo CD repo server, application controller and ApplicationSet controller');
  start('redis', redis, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const path = `${dirname(t.helm)}:${dirname(git)}:${process.env['PATH'] ?? ''}`;
  start(
    'repo-server',
    join(dir, 'bin', 'argocd-repo-server'),
    [
      '--disable-tls',
      '--address',
      '127.0.0.1',
      '--port',
      String(repoPort),
      '--metrics-address',
      '127.0.0.1',
      '--metrics-port',
      String(port('LAB_ARGOCD_REPO_METRICS_PORT', 18084)),
      '--redis',
      `127.0.0.1:${redisPort}`,
      '--logformat',
      'text',
    ],
    { ARGOCD_GPG_ENABLED: 'false', PATH: path, HOME: dir },
  );
  start(
    'application-controller',
    join(dir, 'bin', 'argocd-application-controller'),
    [
      '--kubeconfig',
      controlKubeconfig,
      '--namespace',
      argocdNamespace,
      '--repo-server',
      `127.0.0.1:${repoPort}`,
      '--repo-server-plaintext',
      '--redis',
      `127.0.0.1:${redisPort}`,
      '--metrics-port',
      String(port('LAB_ARGOCD_METRICS_PORT', 18082)),
      '--logformat',
      'text',
      '--app-resync',
      '60',
    ],
    { PATH: path, HOME: dir },
  );
  // Every listener of its own on loopback (its defaults bind every interface).
  const loopback = (name: string, fallback: number) => `127.0.0.1:${port(name, fallback)}`;
  start(
    'applicationset-controller',
    join(dir, 'bin', 'argocd-applicationset-controller'),
    [
      '--kubeconfig',
      controlKubeconfig,
      '--namespace',
      argocdNamespace,
      '--argocd-repo-server',
      `127.0.0.1:${repoPort}`,
      '--repo-server-plaintext',
      '--metrics-addr',
      loopback('LAB_ARGOCD_APPSET_METRICS_PORT', 18085),
      '--probe-addr',
      loopback('LAB_ARGOCD_APPSET_PROBE_PORT', 18086),
      '--webhook-addr',
      loopback('LAB_ARGOCD_APPSET_WEBHOOK_PORT', 18087),
      '--logformat',
      'text',
    ],
    // controller-runtime reads its cluster from KUBECONFIG.
    { PATH: path, HOME: dir, KUBECONFIG: controlKubeconfig },
  );

  // The control cluster too (as `argocd`), so a parent Application there can manage Applications (app of apps).
  log('[lab] registering the lab clusters and the control cluster with Argo CD');
  for (const cluster of [...state.clusters, argocdCluster]) {
    const kc = parseYaml(await contextConfig(`kwok-${cluster}`)) as {
      clusters: {
        cluster: { server: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean };
      }[];
      users: { user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
    };
    const c = kc.clusters[0]?.cluster;
    const u = kc.users[0]?.user;
    if (!c) throw new Error(`no cluster for kwok-${cluster} in ${state.kubeconfig}`);
    const tls = {
      ...(c['certificate-authority-data'] ? { caData: c['certificate-authority-data'] } : { insecure: true }),
      ...(u?.['client-certificate-data'] ? { certData: u['client-certificate-data'] } : {}),
      ...(u?.['client-key-data'] ? { keyData: u['client-key-data'] } : {}),
    };
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: `cluster-${cluster}`,
          namespace: argocdNamespace,
          labels: { 'argocd.argoproj.io/secret-type': 'cluster' },
        },
        stringData: { name: cluster, server: c.server, config: JSON.stringify({ tlsClientConfig: tls }) },
      }),
    );
  }

  const worktree = state.git?.worktree;
  if (!worktree || !state.git) throw new Error('the lab has no config repository for Argo CD to read values from');
  lab.baselineCommit = (await run(git, ['-C', worktree, 'rev-parse', 'HEAD'], process.env)).trim();
  log('[lab] creating an Application per cluster, synced to the baseline');
  for (const cluster of state.clusters) {
    const name = applicationOf(cluster);
    const overlay = join('overlays', 'lab', cluster, 'values.yaml');
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(
        application(name, cluster, state.repoUrl, state.git.url, lab.baselineCommit, baselineVersion, [
          '$values/overlays/base.yaml',
          ...(existsSync(join(worktree, overlay)) ? [`$values/${overlay}`] : []),
        ]),
      ),
    );
    lab.applications.push(name);
    save();
  }
  await waitForApplications(kubectl, lab.applications, () => readLog(join(dir, 'application-controller.log')));
  // Objects the baseline release already made are Synced without an operation: one sync each gives every
  // Application a history entry, a revision to roll back to, as a long-lived Application has.
  for (const name of lab.applications) {
    const sync = {
      operation: {
        initiatedBy: { username: 'lab' },
        sync: { revisions: [baselineVersion, lab.baselineCommit] },
      },
      status: { operationState: null },
    };
    await kubectl(['-n', argocdNamespace, 'patch', 'application', name, '--type', 'merge', '-p', JSON.stringify(sync)]);
  }
  for (const name of lab.applications) {
    await kubectl([
      '-n',
      argocdNamespace,
      'wait',
      '--for=jsonpath={.status.operationState.phase}=Succeeded',
      '--timeout=120s',
      `application/${name}`,
    ]);
  }
  return lab;
}

/** An Application of the express chart on one lab cluster, handed to the lab-argocd plan. */
export function application(
  name: string,
  cluster: string,
  chartRepo: string,
  configRepo: string,
  commit: string,
  version: string,
  valueFiles: string[],
): object {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: argocdNamespace, annotations: { 'phased-rollout.io/plan': argocdPlan } },
    spec: {
      project: 'default',
      destination: { name: cluster, namespace: 'express' },
      sources: [
        {
          repoURL: chartRepo,
          chart: 'express',
          targetRevision: version,
          helm: { releaseName: 'express', valueFiles },
        },
        { repoURL: configRepo, targetRevision: commit, ref: 'values' },
      ],
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    },
  };
}

/** Until every Application is Synced and Healthy (kubectl wait on their status), with the controller's log on failure. */
async function waitForApplications(
  kubectl: (args: string[]) => Promise<string>,
  names: string[],
  logTail: () => string,
): Promise<void> {
  try {
    for (const name of names) {
      await kubectl([
        '-n',
        argocdNamespace,
        'wait',
        '--for=jsonpath={.status.sync.status}=Synced',
        '--timeout=180s',
        `application/${name}`,
      ]);
      await kubectl([
        '-n',
        argocdNamespace,
        'wait',
        '--for=jsonpath={.status.health.status}=Healthy',
        '--timeout=180s',
        `application/${name}`,
      ]);
    }
  } catch (err) {
    const status = await kubectl(['-n', argocdNamespace, 'get', 'applications', '-o', 'yaml']).catch(() => '');
    throw new Error(
      `Argo CD did not sync the lab's Applications: ${(err as Error).message}\n${status.slice(-3000)}\ncontroller log:\n${logTail()}`,
    );
  }
}

function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20).join('\n') : '(no log)';
}

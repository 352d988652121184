/**
 * The local lab: N real Kubernetes control planes (etcd, kube-apiserver, controller-manager, scheduler)
 * with kwok's simulated nodes, side by side on loopback, one kubeconfig with a context per cluster, a
 * chart repository on loopback, and a stand-in for what the synchronizer's container would write.
 * Everything here is the lab, never the product: the product only ever sees kube contexts and a repo URL.
 */
import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureDebianTool } from '../src/tools/debian.js';
import { ensureTool, versions } from '../src/tools/toolchain.js';
import { argocdCluster, startArgoCd, type ArgoCdLab } from './argocd.js';
import type { Application } from '../src/drivers/argocd/application.js';

const exec = promisify(execFile);
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface LabState {
  dir: string;
  kubeconfig: string;
  clusters: string[];
  repoUrl: string;
  agentPid?: number;
  /** The lab's config repository, served by `git daemon`, and a clone of it to edit and push from. */
  git?: { url: string; worktree: string; pid?: number };
  /** The lab's Prometheus-API metrics server (VictoriaMetrics), where the agent writes each cluster's error rate. */
  metrics?: { url: string; pid?: number };
  /** With `up --argocd`: Argo CD on its own control cluster, each lab cluster its destination. */
  argocd?: ArgoCdLab;
}

/** Versions the lab publishes to its chart repository; "broken" ones carry a fault in their defaults. */
export const published = {
  express: ['2.0.0', '2.1.0', '2.2.0', '2.3.0'],
  'express-operator': ['1.0.0', '1.1.0', '1.2.0'],
  /** More charts, for releases of several components: installed by no baseline. */
  'express-farmer': ['1.3.0', '1.4.0', '1.4.1'],
  'express-accelerator': ['0.9.0', '1.0.0'],
  brokenExpress: ['2.9.0'],
  brokenOperator: ['1.9.0'],
  baseline: { express: '2.0.0', operator: '1.0.0' },
};

export function labDir(): string {
  return process.env['LAB_DIR'] ?? join(repoRoot, '.lab');
}

export function repoPort(): number {
  return Number(process.env['LAB_REPO_PORT'] ?? 8879);
}

export function gitPort(): number {
  return Number(process.env['LAB_GIT_PORT'] ?? 9418);
}

export function metricsPort(): number {
  return Number(process.env['LAB_METRICS_PORT'] ?? 8428);
}

/** A lab fault the agent reads: the cluster's error-rate series goes bad while this file exists. */
export function badMetricsFile(dir: string, cluster: string): string {
  return join(dir, 'faults', `bad-metrics-${cluster}`);
}

export function readState(dir = labDir()): LabState | undefined {
  const file = join(dir, 'lab.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LabState) : undefined;
}

/** Written whole or not at all: the agent reads this file while the lab comes up. */
export function writeState(state: LabState): void {
  const file = join(state.dir, 'lab.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export interface Tools {
  kwokctl: string;
  kubectl: string;
  helm: string;
  env: NodeJS.ProcessEnv;
}

export async function tools(dir: string, log: (l: string) => void): Promise<Tools> {
  const [kwokctl, kwok, kubectl, apiserver, etcd, helm] = [
    await ensureTool('kwokctl', log),
    await ensureTool('kwok', log),
    await ensureTool('kubectl', log),
    await ensureTool('kube-apiserver', log),
    await ensureTool('etcd', log),
    await ensureTool('helm', log),
  ];
  await ensureTool('kube-controller-manager', log);
  await ensureTool('kube-scheduler', log);
  return {
    kwokctl,
    kubectl,
    helm,
    env: {
      ...process.env,
      KWOK_WORKDIR: join(dir, 'kwok'),
      KWOK_RUNTIME: 'binary',
      KWOK_KUBE_VERSION: `v${versions.kubernetes}`,
      KWOK_KUBE_BINARY_PREFIX: dirname(apiserver),
      KWOK_ETCD_BINARY: etcd,
      KWOK_CONTROLLER_BINARY: kwok,
      PATH: `${dirname(kubectl)}:${process.env['PATH'] ?? ''}`,
    },
  };
}

export async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-6000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolvePromise(out)
        : reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (${code}): ${err}`)),
    );
    // A command that exits before reading its input must not take the lab down with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/** Packages a chart at a version into the repository folder; `broken` sets its never-ready fault. */
export async function publishChart(
  helm: string,
  repo: string,
  chart: 'express' | 'express-operator' | 'express-farmer' | 'express-accelerator',
  version: string,
  broken = false,
): Promise<void> {
  let source = join(repoRoot, 'charts', chart);
  let tmp: string | undefined;
  if (broken) {
    tmp = mkdtempSync(join(tmpdir(), 'lab-chart-'));
    cpSync(source, join(tmp, chart), { recursive: true });
    source = join(tmp, chart);
    const values = join(source, 'values.yaml');
    writeFileSync(values, readFileSync(values, 'utf8').replace('podsNeverReady: false', 'podsNeverReady: true'));
  }
  try {
    await run(helm, ['package', source, '--version', version, '--app-version', version, '-d', repo], process.env);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

export async function indexRepo(helm: string, repo: string): Promise<void> {
  await run(helm, ['repo', 'index', repo, '--url', `http://127.0.0.1:${repoPort()}`], process.env);
}

/** Starts the lab agent (chart repository + cache stand-in) as a background process; it logs to agent.log. */
function startAgent(dir: string): number {
  const log = join(dir, 'agent.log');
  // Its own output goes to the log too, so a crash leaves its reason behind.
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'lab', 'agent.ts'), dir], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, LAB_AGENT_LOG: log },
  });
  closeSync(out);
  child.unref();
  return child.pid as number;
}

/** The end of the agent's log, for errors that may be the agent's doing. */
export function agentLogTail(dir = labDir(), lines = 15): string {
  const file = join(dir, 'agent.log');
  if (!existsSync(file)) return '(no agent.log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function agentAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForRepo(timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${repoPort()}/index.yaml`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`lab agent did not serve the chart repository on :${repoPort()}; see agent.log`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const gitIdentity = ['-c', 'user.name=lab', '-c', 'user.email=lab@localhost'];

/**
 * The lab's config repository, as a platform team keeps one: the example charts, overlays and plans,
 * committed to a bare repository that `git daemon` serves read-only on loopback, and a clone to edit and
 * push from. The clone's lab plan names the repository as its source (`spec.source.git`), so a rollout
 * started from it is pinned to a commit, and workers fetch that commit themselves.
 */
async function createConfigRepo(dir: string, chartRepoUrl: string): Promise<NonNullable<LabState['git']>> {
  const git = await ensureDebianTool('git');
  const served = join(dir, 'git');
  const bare = join(served, 'config.git');
  const worktree = join(dir, 'config');
  const url = `git://127.0.0.1:${gitPort()}/config.git`;
  await run(git, ['init', '--quiet', '--bare', '--initial-branch=main', bare], process.env);
  await run(git, ['init', '--quiet', '--initial-branch=main', worktree], process.env);
  for (const folder of ['charts', 'overlays', 'rollout-plans']) {
    cpSync(join(repoRoot, folder), join(worktree, folder), { recursive: true });
  }
  const source = ['  source:', '    git:', `      url: ${url}`, '      ref: main', '      path: rollout-plans', ''];
  const plan = join(worktree, 'rollout-plans', 'lab.yaml');
  writeFileSync(
    plan,
    readFileSync(plan, 'utf8')
      .replaceAll('http://127.0.0.1:8879', chartRepoUrl)
      .replace(/^spec:\n/m, `spec:\n${source.join('\n')}`),
  );
  // The Argo CD plan names the repository already: at this lab's ports.
  const argocdPlan = join(worktree, 'rollout-plans', 'lab-argocd.yaml');
  writeFileSync(
    argocdPlan,
    readFileSync(argocdPlan, 'utf8')
      .replaceAll('http://127.0.0.1:8879', chartRepoUrl)
      .replaceAll('git://127.0.0.1:9418/config.git', url),
  );
  const inTree = (args: string[]) => run(git, ['-C', worktree, ...gitIdentity, ...args], process.env);
  await inTree(['add', '-A']);
  await inTree(['commit', '--quiet', '-m', 'Example config: charts, overlays and plans']);
  await inTree(['remote', 'add', 'origin', bare]);
  await inTree(['push', '--quiet', 'origin', 'main']);
  await inTree(['branch', '--quiet', '--set-upstream-to=origin/main']);

  const out = openSync(join(dir, 'git-daemon.log'), 'a');
  const daemon = spawn(
    git,
    [
      'daemon',
      `--base-path=${served}`,
      '--export-all',
      '--reuseaddr',
      '--listen=127.0.0.1',
      `--port=${gitPort()}`,
      served,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  daemon.unref();
  // Served once the URL answers with this repository's commit: another daemon on the port would answer too.
  const head = (await inTree(['rev-parse', 'HEAD'])).trim();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const served = await run(git, ['ls-remote', url, 'main'], process.env).catch((err: Error) => err.message);
    if (served.startsWith(head)) break;
    if (daemon.exitCode !== null || Date.now() > deadline) {
      const log = readFileSync(join(dir, 'git-daemon.log'), 'utf8').trim().split('\n').slice(-3).join('; ');
      throw new Error(`git daemon does not serve ${url} (is port ${gitPort()} taken? set LAB_GIT_PORT): ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, worktree, pid: daemon.pid };
}

/** VictoriaMetrics single-node on loopback, its data in the lab folder; the agent writes the lab's series. */
async function startMetrics(dir: string): Promise<NonNullable<LabState['metrics']>> {
  const binary = await ensureTool('victoria-metrics');
  const out = openSync(join(dir, 'metrics.log'), 'a');
  const url = `http://127.0.0.1:${metricsPort()}`;
  const child = spawn(
    binary,
    [
      `-storageDataPath=${join(dir, 'metrics')}`,
      `-httpListenAddr=127.0.0.1:${metricsPort()}`,
      '-search.latencyOffset=0s',
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(
        `the metrics server did not start on ${url} (is port ${metricsPort()} taken? set LAB_METRICS_PORT)`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid };
}

/**
 * Changes the lab's config repository as a person would: `edit` changes files in the clone, then a commit
 * and a push. Returns the new commit.
 */
export async function labCommit(message: string, edit: (worktree: string) => void): Promise<string> {
  const state = readState();
  if (!state?.git) throw new Error(`no lab config repository in ${labDir()}`);
  const git = await ensureDebianTool('git');
  const inTree = (args: string[]) => run(git, ['-C', state.git?.worktree ?? '', ...gitIdentity, ...args], process.env);
  edit(state.git.worktree);
  // New files too (an Application's manifest added for an app of apps).
  await inTree(['add', '--all']);
  await inTree(['commit', '--quiet', '-m', message]);
  await inTree(['push', '--quiet', 'origin', 'main']);
  return (await inTree(['rev-parse', 'HEAD'])).trim();
}

/**
 * Creates the lab: clusters, stages, nodes, chart repository, agent, config repository, and the baseline
 * release on each cluster. A lab that fails to come up is taken down again, so nothing is left running.
 */
export async function labUp(
  n: number,
  log: (l: string) => void = console.error,
  opts: { argocd?: boolean } = {},
): Promise<LabState> {
  const dir = labDir();
  const existing = readState(dir);
  if (existing) {
    log(`lab already up in ${dir} with ${existing.clusters.join(', ')}; 'lab down' first to recreate`);
    return existing;
  }
  try {
    const state = await createLab(dir, n, log);
    if (opts.argocd) {
      const t = await tools(dir, log);
      state.argocd = await startArgoCd(
        {
          state,
          tools: t,
          run,
          createCluster: (name) => createCluster(t, state.kubeconfig, name),
          save: () => writeState(state),
          baselineVersion: published.baseline.express,
        },
        log,
      );
      writeState(state);
      log(`[lab] Argo CD up on ${state.argocd.context}: ${state.argocd.applications.join(', ')}`);
    }
    return state;
  } catch (err) {
    await labDown(() => undefined).catch(() => undefined);
    throw err;
  }
}

async function createLab(dir: string, n: number, log: (l: string) => void): Promise<LabState> {
  mkdirSync(dir, { recursive: true });
  const t = await tools(dir, log);
  const kubeconfig = join(dir, 'kubeconfig');
  const repo = join(dir, 'repo');
  mkdirSync(repo, { recursive: true });
  const state: LabState = { dir, kubeconfig, clusters: [], repoUrl: `http://127.0.0.1:${repoPort()}` };
  writeState(state);

  log('[lab] publishing charts to the lab repository');
  for (const v of published.express) await publishChart(t.helm, repo, 'express', v);
  for (const v of published.brokenExpress) await publishChart(t.helm, repo, 'express', v, true);
  for (const v of published['express-operator']) await publishChart(t.helm, repo, 'express-operator', v);
  for (const v of published.brokenOperator) await publishChart(t.helm, repo, 'express-operator', v, true);
  for (const v of published['express-farmer']) await publishChart(t.helm, repo, 'express-farmer', v);
  for (const v of published['express-accelerator']) await publishChart(t.helm, repo, 'express-accelerator', v);
  await indexRepo(t.helm, repo);
  state.agentPid = startAgent(dir);
  writeState(state);
  await waitForRepo();
  log('[lab] starting the metrics server');
  state.metrics = await startMetrics(dir);
  writeState(state);
  log('[lab] committing the example config to the lab config repository');
  state.git = await createConfigRepo(dir, state.repoUrl);
  writeState(state);

  for (let i = 1; i <= n; i++) {
    const name = `lab-${i}`;
    log(`[lab] creating cluster ${name}`);
    await createCluster(t, kubeconfig, name);
    state.clusters.push(name);
    writeState(state);
    const ctx = ['--kubeconfig', kubeconfig, '--context', `kwok-${name}`];
    for (const f of ['kwok-defaults.yaml', 'never-ready.yaml', 'slow-jobs.yaml', 'hanging-jobs.yaml']) {
      await run(t.kubectl, [...ctx, 'apply', '-f', join(repoRoot, 'lab', 'stages', f)], t.env);
    }
    await run(t.kwokctl, ['scale', 'node', '--replicas', '2', '--name', name], t.env);
  }
  log('[lab] installing the baseline release on every cluster');
  if (!agentAlive(state.agentPid)) throw new Error(`the lab agent exited; its log ends:\n${agentLogTail(dir)}`);
  try {
    await Promise.all(state.clusters.map((c) => installBaseline(t, state, c)));
  } catch (err) {
    const agent = agentAlive(state.agentPid) ? 'running' : 'exited';
    throw new Error(`${(err as Error).message}\nlab agent ${agent}; its log ends:\n${agentLogTail(dir)}`);
  }
  log(`[lab] up: ${state.clusters.join(', ')}; KUBECONFIG=${kubeconfig}`);
  return state;
}

/** One kwok cluster with a real control plane on loopback, its context kwok-NAME in `kubeconfig`. */
export async function createCluster(t: Tools, kubeconfig: string, name: string): Promise<void> {
  await run(
    t.kwokctl,
    [
      'create',
      'cluster',
      '--name',
      name,
      '--config',
      join(repoRoot, 'lab', 'kwokctl.yaml'),
      '--kubeconfig',
      kubeconfig,
      '--enable-crds=Stage',
      '--wait',
      '60s',
    ],
    t.env,
  );
}

async function installBaseline(t: Tools, state: LabState, cluster: string): Promise<void> {
  const common = ['--kube-context', `kwok-${cluster}`, '--kubeconfig', state.kubeconfig, '--repo', state.repoUrl];
  const operatorOverlay = join(repoRoot, 'overlays', 'lab', cluster, 'operator.yaml');
  await run(
    t.helm,
    [
      'upgrade',
      '--install',
      'express-operator',
      'express-operator',
      '--version',
      published.baseline.operator,
      '-n',
      'express-system',
      '--create-namespace',
      ...(existsSync(operatorOverlay) ? ['-f', operatorOverlay] : []),
      ...common,
    ],
    t.env,
  );
  const overlay = join(repoRoot, 'overlays', 'lab', cluster, 'values.yaml');
  await run(
    t.helm,
    [
      'upgrade',
      '--install',
      'express',
      'express',
      '--version',
      published.baseline.express,
      '-n',
      'express',
      '--create-namespace',
      '-f',
      join(repoRoot, 'overlays', 'base.yaml'),
      ...(existsSync(overlay) ? ['-f', overlay] : []),
      ...common,
    ],
    t.env,
  );
}

/** Tears the lab down: agent, clusters (their processes and data) and the lab folder. */
export async function labDown(log: (l: string) => void = console.error): Promise<void> {
  const dir = labDir();
  const state = readState(dir);
  if (!state) {
    log(`no lab in ${dir}`);
    return;
  }
  for (const pid of [state.agentPid, state.git?.pid, state.metrics?.pid, ...(state.argocd?.pids ?? [])]) {
    if (!pid) continue;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const t = await tools(dir, log);
  for (const c of [...state.clusters, ...(state.argocd ? [argocdCluster] : [])]) {
    log(`[lab] deleting cluster ${c}`);
    await run(t.kwokctl, ['delete', 'cluster', '--name', c, '--kubeconfig', state.kubeconfig], t.env).catch(
      (e: Error) => log(e.message),
    );
  }
  rmSync(dir, { recursive: true, force: true });
  log('[lab] down');
}

/** What each cluster runs: Helm's view of both releases, and whether the API server answers. */
export async function labStatus(): Promise<{ cluster: string; operator: string; express: string; cache: string }[]> {
  const state = readState();
  if (!state) throw new Error(`no lab in ${labDir()}; start one with 'npm run lab -- up'`);
  const helm = await ensureTool('helm');
  const kubectl = await ensureTool('kubectl');
  return Promise.all(
    state.clusters.map(async (cluster) => {
      const ctx = ['--kube-context', `kwok-${cluster}`, '--kubeconfig', state.kubeconfig];
      const release = async (name: string, ns: string) => {
        try {
          const { stdout } = await exec(helm, ['history', name, '-n', ns, '-o', 'json', '--max', '1', ...ctx]);
          const [r] = JSON.parse(stdout) as { revision: number; status: string; chart: string }[];
          return r ? `${r.chart} (rev ${r.revision}, ${r.status})` : 'not installed';
        } catch {
          return 'not installed';
        }
      };
      let cache = 'none';
      try {
        const { stdout } = await exec(kubectl, [
          '--kubeconfig',
          state.kubeconfig,
          '--context',
          `kwok-${cluster}`,
          '-n',
          'express',
          'get',
          'configmap',
          'express-cache',
          '-o',
          'jsonpath={.data.readyVersion}',
        ]);
        cache = stdout || 'none';
      } catch {
        // no cache yet
      }
      return {
        cluster,
        operator: await release('express-operator', 'express-system'),
        express: await release('express', 'express'),
        cache,
      };
    }),
  );
}

/** Each lab Application as Argo CD reports it: sources' revisions, sync, health and who started the last sync. */
export async function argocdStatus(): Promise<
  { name: string; sources: string; sync: string; health: string; by: string }[]
> {
  const state = readState();
  if (!state?.argocd) return [];
  const kubectl = await ensureTool('kubectl');
  const { stdout } = await exec(kubectl, [
    '--kubeconfig',
    state.kubeconfig,
    '--context',
    state.argocd.context,
    '-n',
    state.argocd.namespace,
    'get',
    'applications',
    '-o',
    'json',
  ]);
  const list = JSON.parse(stdout) as { items: Application[] };
  return list.items.map((a) => ({
    name: a.metadata?.name ?? '',
    sources: (a.spec?.sources ?? []).map((s) => (s.targetRevision ?? '').slice(0, 12)).join(', '),
    sync: a.status?.sync?.status ?? 'Unknown',
    health: a.status?.health?.status ?? 'Unknown',
    by:
      a.status?.history?.at(-1)?.initiatedBy?.username ??
      (a.status?.history?.at(-1)?.initiatedBy?.automated ? 'auto-sync' : ''),
  }));
}

/** Switches a lab fault on or off on one cluster. */
export async function labFault(
  fault: 'sync-fails' | 'bad-cache' | 'bad-metrics',
  cluster: string,
  on: boolean,
  version?: string,
): Promise<void> {
  const state = readState();
  if (!state) throw new Error(`no lab in ${labDir()}`);
  if (!state.clusters.includes(cluster))
    throw new Error(`unknown lab cluster ${cluster}; lab has ${state.clusters.join(', ')}`);
  if (fault === 'bad-metrics') {
    const file = badMetricsFile(state.dir, cluster);
    if (on) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'error rate 0.5\n');
    } else rmSync(file, { force: true });
    return;
  }
  const t = await tools(state.dir, () => undefined);
  const ctx = ['--kubeconfig', state.kubeconfig, '--context', `kwok-${cluster}`];
  if (fault === 'sync-fails') {
    const file = join(repoRoot, 'lab', 'stages', 'sync-fails.yaml');
    await run(t.kubectl, [...ctx, ...(on ? ['apply'] : ['delete', '--ignore-not-found=true']), '-f', file], t.env);
    return;
  }
  if (!version) throw new Error('bad-cache needs --version');
  const current = await run(
    t.kubectl,
    [...ctx, '-n', 'default', 'get', 'configmap', 'lab-faults', '-o', 'jsonpath={.data.badCacheVersions}'],
    t.env,
  ).catch(() => '');
  const set = new Set(current.split(',').filter(Boolean));
  if (on) set.add(version);
  else set.delete(version);
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'lab-faults', namespace: 'default' },
    data: { badCacheVersions: [...set].join(',') },
  });
  await run(t.kubectl, [...ctx, 'apply', '-f', '-'], t.env, manifest);
}

/**
 * Makes a cluster unreachable, or reachable again: `kwokctl stop cluster` stops its control plane (API
 * server, etcd, controllers; connections are refused on its port), `start cluster` brings it back on the
 * same port with its data. What a network partition or an API server outage looks like to the product.
 */
export async function labOutage(cluster: string, down: boolean): Promise<void> {
  const state = readState();
  if (!state) throw new Error(`no lab in ${labDir()}`);
  if (!state.clusters.includes(cluster))
    throw new Error(`unknown lab cluster ${cluster}; lab has ${state.clusters.join(', ')}`);
  const t = await tools(state.dir, () => undefined);
  await run(t.kwokctl, [down ? 'stop' : 'start', 'cluster', '--name', cluster], t.env);
  if (!down) {
    // Ready again only once the API server answers; it refuses connections for a moment after starting.
    const deadline = Date.now() + 60_000;
    const readyz = ['--kubeconfig', state.kubeconfig, '--context', `kwok-${cluster}`, 'get', '--raw', '/readyz'];
    for (;;) {
      try {
        await run(t.kubectl, [...readyz, '--request-timeout=5s'], t.env);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

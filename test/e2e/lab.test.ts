/**
 * End to end on real everything: the shared Temporal dev server, a lab of three kwok clusters with real
 * control planes, real Helm, a `rollout-worker` process with the real activities, and the `rollout` CLI
 * run as a user runs it. Assertions read what Helm and the API servers hold afterwards.
 */
import type { ReleaseSpec } from '../../src/plan/schema.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from 'vitest';
import { HelmClient, type HelmRelease } from '../../src/adapters/helm.js';
import { SourceFiles } from '../../src/adapters/source.js';
import { freePort } from '../../src/tools/dev-server.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import { endRunningRollouts } from '../helpers/end-rollouts.js';
import { rolloutCli, type CliRun } from '../helpers/cli.js';
import { startProductionServer, type ProductionServer } from '../../src/tools/production-server.js';
import { isLoopback, listeners } from '../../lab/listeners.js';
import type * as LabApi from '../../lab/lab.js';
import { activityRunContext } from '../../src/activities/context.js';
import { abortUpdate, pauseUpdate, progressQuery, resumeUpdate, statusQuery } from '../../src/workflows/definitions.js';
import type { FleetReport, RolloutStatus } from '../../src/domain/types.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  privateCa,
  pushChart,
  startChartRepository,
  startRegistry,
  type ChartRepository,
  type PrivateCa,
  type Registry,
} from '../helpers/registries.js';
import { dataConverter } from '../../src/common/payload-codec.js';

type LabModule = typeof LabApi;

const root = new URL('../../', import.meta.url).pathname;
const clusters = ['lab-1', 'lab-2', 'lab-3'];
let lab: LabModule;
let kubeconfig: string;
let helm: string;
let env: Record<string, string> | undefined;
let worker: ChildProcess | undefined;
/** The lab plan on this lab (its repository, absolute file paths), for tests that shape their own. */
let labPlanText = '';
const plans: Record<'rollback' | 'neverReady' | 'pause' | 'outage' | 'stuck' | 'analysis', string> = {
  rollback: '',
  neverReady: '',
  stuck: '',
  pause: '',
  outage: '',
  analysis: '',
};

/** A rollout-worker process; `cwd` other than the checkout shows it needs none of the plan's files. */
function startWorker(
  opts: { cwd?: string; env?: Record<string, string>; log?: (text: string) => void } = {},
): ChildProcess {
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'src/worker/main.ts')], {
    cwd: opts.cwd ?? root,
    env: { ...process.env, ...env, ...opts.env },
    stdio: ['ignore', opts.log ? 'pipe' : 'ignore', opts.log ? 'pipe' : 'inherit'],
  });
  if (opts.log) {
    child.stdout?.on('data', (d: Buffer) => opts.log?.(d.toString()));
    child.stderr?.on('data', (d: Buffer) => opts.log?.(d.toString()));
  }
  return child;
}

async function stopWorker(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const w = worker;
  worker = undefined;
  if (!w || w.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    w.once('exit', () => resolve());
    w.kill(signal);
  });
}

const cli = (...args: string[]): Promise<CliRun> => rolloutCli(args, env);
const client = (connection: Connection) => new Client({ connection, dataConverter });

async function history(cluster: string, release = 'express'): Promise<HelmRelease[]> {
  const ns = release === 'express-operator' ? 'express-system' : 'express';
  return new HelmClient(helm, kubeconfig).history(`kwok-${cluster}`, release, ns);
}

/** Someone upgrades a cluster's chart by hand with helm, keeping its values but one: outside any rollout. */
function handUpgrade(cluster: string, version: string, set: string): void {
  const repo = lab.readState()?.repoUrl ?? '';
  execFileSync(
    helm,
    ['upgrade', 'express', 'express', '--repo', repo, '--version', version, '-n', 'express'].concat([
      '--reuse-values',
      '--set',
      set,
      '--kube-context',
      `kwok-${cluster}`,
      '--kubeconfig',
      kubeconfig,
    ]),
  );
}

async function current(cluster: string, release = 'express'): Promise<HelmRelease | undefined> {
  return (await history(cluster, release)).pop();
}

function kube(cluster: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(`kwok-${cluster}`);
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
  };
}

async function cacheVersion(cluster: string): Promise<string | undefined> {
  const cm = await kube(cluster)
    .core.readNamespacedConfigMap({ name: 'express-cache', namespace: 'express' })
    .catch(() => undefined);
  return cm?.data?.['readyVersion'];
}

async function statusJson(id: string) {
  const r = await cli('status', id, '-o', 'json');
  return JSON.parse(r.stdout) as {
    state: string;
    reason?: string;
    clusters: {
      name: string;
      state: string;
      step?: string;
      failedStep?: string;
      error?: string;
      unreachable?: { since: string; attempts: number; error: string };
      resumedSteps?: string[];
      skippedSteps?: string[];
      workflowId?: string;
      rollbackError?: string;
    }[];
  };
}

async function synchronizerJobs(cluster: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(`kwok-${cluster}`);
  const jobs = await kc
    .makeApiClient(BatchV1Api)
    .listNamespacedJob({ namespace: 'express', labelSelector: 'phased-rollout.dev/synchronizer=true' });
  return jobs.items.map((j) => j.metadata?.name ?? '');
}

/** Asks `rollout status` until `pred` holds for its JSON (the CLI as a person would run it). */
async function statusUntil(id: string, pred: (s: Awaited<ReturnType<typeof statusJson>>) => boolean, ms = 180_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await statusJson(id);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`status of ${id} never matched: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Starts a rollout with the CLI (which must accept it) and follows `status` until the rollout ends. */
async function startAndFinish(plan: string, id: string, chart: string, operator: string) {
  const started = await cli('start', plan, '--id', id, '--chart-version', chart, '--operator-version', operator);
  expect(started.code, started.stderr).toBe(0);
  return statusUntil(id, (s) => ['succeeded', 'failed', 'rolled-back', 'aborted'].includes(s.state));
}

/** Follows the rollout with `rollout watch` until it ends or waits for a person. */
async function watchUntilPause(id: string): Promise<CliRun> {
  return rolloutCli(['watch', id, '--interval', '1'], env, 600_000);
}

/**
 * A published version of the chart (or the operator) that none of `on` runs: a rollout to it changes
 * every one of them, whatever earlier tests left there.
 */
async function versionNoneRuns(release: 'express' | 'express-operator', on: string[]): Promise<string> {
  const running = await Promise.all(on.map((c) => current(c, release).then((r) => r?.chartVersion)));
  const free = (release === 'express' ? lab.published.express : lab.published['express-operator']).find(
    (v) => !running.includes(v),
  );
  if (!free) throw new Error(`every ${release} version is in use on ${on.join(', ')}`);
  return free;
}

/** The lab plan on lab-1 (canary) and lab-2 (a wave), no approval, a short verification. */
function canaryAndWave(): string {
  const plan = parseYaml(labPlanText) as {
    spec: { clusters: { name: string }[]; phases: unknown[]; verify: { timeout: string } };
  };
  plan.spec.clusters = plan.spec.clusters.filter((c) => ['lab-1', 'lab-2'].includes(c.name));
  plan.spec.phases = [
    { name: 'canary', clusters: ['lab-1'], approval: 'auto', bake: '0s' },
    { name: 'wave', clusters: ['lab-2'], approval: 'auto' },
  ];
  plan.spec.verify.timeout = '20s';
  const file = join(mkdtempSync(join(tmpdir(), 'canary-wave-')), 'plan.yaml');
  writeFileSync(file, stringifyYaml(plan));
  return file;
}

beforeAll(async () => {
  process.env['LAB_DIR'] = mkdtempSync(join(tmpdir(), 'lab-e2e-'));
  process.env['LAB_REPO_PORT'] = String(await freePort());
  process.env['LAB_GIT_PORT'] = String(await freePort());
  process.env['LAB_METRICS_PORT'] = String(await freePort());
  lab = await import('../../lab/lab.js');
  const state = await lab.labUp(3, () => undefined);
  kubeconfig = state.kubeconfig;
  helm = await ensureTool('helm');
  env = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    ROLLOUT_TASK_QUEUE: `e2e-${randomUUID()}`,
    KUBECONFIG: kubeconfig,
    ROLLOUT_HELM: helm,
    ROLLOUT_USER: 'e2e',
    ROLLOUT_LOG_LEVEL: 'ERROR',
  };
  // The lab plan, pointed at this lab's repository, with short bake and cache timeouts for tests.
  const labPlan = readFileSync(join(root, 'rollout-plans/lab.yaml'), 'utf8')
    .replaceAll('http://127.0.0.1:8879', state.repoUrl)
    .replaceAll('../', root)
    .replace('bake: 20s', 'bake: 5s')
    // A never-ready version fails its verification sooner; healthy ones verify in seconds.
    .replace(/(verify:\n(?: {4}.*\n)*?) {4}timeout: 1m/, '$1    timeout: 40s');
  labPlanText = labPlan;
  const base = labPlan.replace(/(cache:\n(?: {4}.*\n)+?) {4}timeout: 5m/, '$1    timeout: 20s');
  const dir = mkdtempSync(join(tmpdir(), 'plans-'));
  plans.rollback = join(dir, 'rollback.yaml');
  plans.pause = join(dir, 'pause.yaml');
  plans.outage = join(dir, 'outage.yaml');
  writeFileSync(plans.rollback, base);
  // A version that never becomes ready fails at the verification's timeout: 20 s there is plenty for the
  // healthy steps (a few seconds each) and saves the suite a minute.
  const shortVerify = (plan: string) => plan.replace(/(verify:\n(?: {4}.*\n)*?) {4}timeout: 40s/, '$1    timeout: 20s');
  plans.neverReady = join(dir, 'never-ready.yaml');
  writeFileSync(plans.neverReady, shortVerify(base));
  writeFileSync(plans.pause, base.replace('action: rollback', 'action: pause'));
  // Outages need time: the cache wait outlasts them, a rollback gives up on an unreachable cluster after 20 s.
  writeFileSync(
    plans.outage,
    labPlan.replace('rollbackScope: phase', 'rollbackScope: phase\n    rollbackTimeout: 20s'),
  );
  plans.stuck = join(dir, 'stuck.yaml');
  writeFileSync(plans.stuck, shortVerify(readFileSync(plans.outage, 'utf8')));
  // Each cluster must keep its error rate (the lab agent writes lab_error_rate) below 5% after it verifies.
  plans.analysis = join(dir, 'analysis.yaml');
  writeFileSync(
    plans.analysis,
    base
      .replace('  verify:\n', '  verify:\n    analyses: [error-rate]\n')
      .replace(
        '  clusters:\n',
        [
          '  analysis:',
          `    address: ${state.metrics?.url ?? ''}`,
          '    templates:',
          `      - { name: error-rate, query: 'max(lab_error_rate{cluster="{{cluster}}"})', interval: 2s, count: 2, successCondition: 'result < 0.05' }`,
          '  clusters:',
          '',
        ].join('\n'),
      ),
  );
  worker = startWorker();
}, 600_000);

/** Ends every rollout this file started that still runs: a failed test must not hold the lab's clusters. */
async function endRunning(reason: string): Promise<void> {
  if (!env) return;
  await endRunningRollouts(inject('temporalAddress'), env['ROLLOUT_TASK_QUEUE'] ?? '', reason);
}

// A failed test may leave its rollout running, holding the lab's clusters: the next test must not inherit it.
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await endRunning(`e2e test failed: ${ctx.task.name}`);
});

afterAll(async () => {
  // Later test files on the same server use the same cluster names (lab-1...): end whatever this file
  // started (nothing, when the lab never came up).
  await endRunning('e2e test file finished');
  await stopWorker();
  await lab?.labDown(() => undefined);
});

describe('the lab, and renders as each cluster sees them', { timeout: 300_000 }, () => {
  it('listens on loopback only: every socket of the lab and the Temporal dev server is bound to 127.0.0.1', () => {
    const dir = lab.labDir();
    const found = listeners((command) => command.includes(dir) || command.includes('server start-dev'));
    const commands = found.map((l) => l.command);
    for (const part of [
      'etcd',
      'kube-apiserver',
      'kwok-controller',
      'git-daemon',
      'victoria-metrics',
      'agent.ts',
      'start-dev',
    ]) {
      expect(
        commands.some((c) => c.includes(part)),
        `a listener of ${part} was found: ${commands.join(' | ')}`,
      ).toBe(true);
    }
    const open = found.filter((l) => !isLoopback(l.address));
    expect(open.map((l) => `${l.command.split(' ')[0]} (pid ${l.pid}) on ${l.address}:${l.port}`)).toEqual([]);
  });

  it('diffs what runs against itself as no change: each cluster renders with its own version and APIs', async () => {
    // The lab charts declare a kubeVersion and render a PodDisruptionBudget only where the cluster serves
    // policy/v1: a render that does not see the cluster would refuse them or leave it out.
    const same = await cli(
      'diff',
      plans.rollback,
      '--chart-version',
      lab.published.baseline.express,
      '--operator-version',
      lab.published.baseline.operator,
      '-o',
      'json',
    );
    expect(same.code, same.stderr).toBe(0);
    const groups = JSON.parse(same.stdout) as { release?: string; clusters: string[]; text: string; error?: string }[];
    // Grouped per release: each cluster once among the operator's groups and once among the chart's.
    for (const release of ['operator', 'chart']) {
      expect(
        groups
          .filter((g) => g.release === release)
          .flatMap((g) => g.clusters)
          .sort(),
        release,
      ).toEqual(clusters);
    }
    for (const g of groups) expect(g).toMatchObject({ text: '' });
    expect(groups.every((g) => g.error === undefined)).toBe(true);
    const pdb = await kube('lab-1')
      .policy.readNamespacedPodDisruptionBudget({ name: 'fe', namespace: 'express' })
      .catch(() => undefined);
    expect(pdb, 'helm upgrade rendered the PodDisruptionBudget, as the cluster serves policy/v1').toBeDefined();
  });

  it('refuses a plan whose context the worker lacks: diff exits 1 saying so, start exits 2 and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plans-'));
    const plan = join(dir, 'nowhere.yaml');
    writeFileSync(
      plan,
      readFileSync(plans.rollback, 'utf8')
        .replace('context: kwok-lab-3', 'context: kwok-nowhere')
        // And a sink whose URL the worker does not have: nobody would hear of this rollout.
        .replace(
          '  onFailure:',
          '  notifications:\n    sinks: [{ name: ops, type: webhook, urlFrom: { env: ROLLOUT_SINK_NOWHERE } }]\n  onFailure:',
        ),
    );
    const diff = await cli('diff', plan, '--cluster', 'lab-3');
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(
      /^== lab-3: diff unavailable: .*kube context "kwok-nowhere" is not in the worker's kubeconfig/,
    );
    expect(diff.stdout).toContain('(not computed: see the error above)');
    const started = await cli('start', plan, '--id', 'e2e-nowhere');
    expect(started.code).toBe(2);
    expect(started.stderr).toMatch(/cluster lab-3: kube context "kwok-nowhere" is not in the worker's kubeconfig/);
    expect(started.stderr).toContain(
      '- spec.notifications: sink ops: no URL in environment variable ROLLOUT_SINK_NOWHERE on this worker',
    );
  });
});

describe('rollouts on the lab', { timeout: 600_000 }, () => {
  it('rolls the canary, waits for approval, then the wave: Helm and the API servers show the new versions', async () => {
    const id = 'e2e-happy';
    expect((await cli('start', plans.rollback, '--id', id)).code).toBe(0);
    const gated = await watchUntilPause(id);
    expect(gated.code, 'watch exits 3 when the rollout waits for a person').toBe(3);
    expect(gated.stdout).toContain('phase "wave-1" awaits approval');
    expect((await current('lab-2'))?.chartVersion).toBe('2.0.0');
    const second = await cli('start', plans.rollback, '--id', `${id}-second`);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`lab-1 (held by ${id})`);

    expect((await cli('approve', id, '--phase', 'wave-1', '-m', 'canary healthy')).code).toBe(0);
    expect((await watchUntilPause(id)).code).toBe(0);
    const status = await statusJson(id);
    expect(status.state).toBe('succeeded');
    for (const c of clusters) {
      expect(await current(c)).toMatchObject({ chartVersion: '2.1.0', status: 'deployed' });
      expect(await current(c, 'express-operator')).toMatchObject({ chartVersion: '1.1.0', status: 'deployed' });
      // The operator was upgraded with the cluster's own operator overlay (Helm resets values it is not given).
      const op = await kube(c).apps.readNamespacedDeployment({ name: 'express-operator', namespace: 'express-system' });
      const vars = op.spec?.template.spec?.containers[0]?.env ?? [];
      expect(vars.find((e) => e.name === 'CLUSTER_NAME')?.value).toBe(c);
      // The lab marks the cache only when the synchronizer Job has succeeded.
      expect(await cacheVersion(c)).toBe('2.1.0');
      const jobs = await kube(c).core.listNamespacedPod({
        namespace: 'express',
        labelSelector: 'app.kubernetes.io/name=express-synchronizer',
      });
      expect(jobs.items, 'synchronizer Jobs are cleaned up').toEqual([]);
      const fe = await kube(c).apps.readNamespacedDeployment({ name: 'fe', namespace: 'express' });
      expect(fe.status?.readyReplicas).toBe(fe.spec?.replicas);
    }
  });

  it('rolls a never-ready chart back on the canary by itself and never touches the wave', async () => {
    const before = await Promise.all(clusters.map((c) => current(c)));
    const id = 'e2e-broken';
    expect((await cli('start', plans.neverReady, '--id', id, '--chart-version', '2.9.0')).code).toBe(0);
    const end = await watchUntilPause(id);
    expect(end.code).toBe(1);
    const status = await statusJson(id);
    expect(status.state).toBe('rolled-back');
    expect(status.clusters[0]).toMatchObject({ name: 'lab-1', state: 'rolled-back', failedStep: 'verify-chart' });
    expect(status.reason).toMatch(
      /lab-1: verify-chart failed: timed out waiting for (Deployment|StatefulSet) express\/\w+ on kwok-lab-1 to roll out: .*(not all Ready|ready)/,
    );
    // ...and why, as the pod says it, so nobody needs kubectl to find out.
    expect(status.reason).toMatch(/newest pod \S+: Ready=False ContainersNotReady: readiness probe failed/);

    const canary = await current('lab-1');
    expect(canary).toMatchObject({
      chartVersion: '2.1.0',
      status: 'deployed',
      revision: (before[0]?.revision ?? 0) + 2,
    });
    for (const name of ['fe', 'dcr']) {
      const d = await kube('lab-1').apps.readNamespacedDeployment({ name, namespace: 'express' });
      expect(d.status?.readyReplicas, `${name} healthy again`).toBe(d.spec?.replicas);
    }
    const farmer = await kube('lab-1').apps.readNamespacedStatefulSet({ name: 'farmer', namespace: 'express' });
    expect(farmer.status?.readyReplicas).toBe(farmer.spec?.replicas);
    expect(await current('lab-2')).toEqual(before[1]);
    expect(await current('lab-3')).toEqual(before[2]);
    // The fleet knows the revision the rollback made ("Rollback to N" in Helm) as this rollout's own.
    const fleet = await cli('fleet', plans.rollback);
    expect(fleet.stdout).toMatch(/lab-1 .*2\.1\.0 rev \d+ deployed by e2e-broken \(rollback\)/);
  });

  it('verifies the operator after its upgrade: one whose pods never become Ready is rolled back before the synchronizer runs', async () => {
    const before = await Promise.all(clusters.map((c) => current(c, 'express-operator')));
    const chartBefore = await current('lab-1');
    const id = 'e2e-broken-operator';
    const started = await cli(
      'start',
      plans.neverReady,
      '--id',
      id,
      '--operator-version',
      '1.9.0',
      '--chart-version',
      '2.3.0',
    );
    expect(started.code, started.stderr).toBe(0);
    expect((await watchUntilPause(id)).code).toBe(1);
    const status = await statusJson(id);
    expect(status.state).toBe('rolled-back');
    expect(status.clusters[0]).toMatchObject({ name: 'lab-1', state: 'rolled-back', failedStep: 'verify-operator' });
    expect(status.reason).toMatch(
      /lab-1: verify-operator failed: timed out waiting for Deployment express-system\/express-operator on kwok-lab-1 to roll out/,
    );
    const operator = await current('lab-1', 'express-operator');
    expect(operator).toMatchObject({ chartVersion: before[0]?.chartVersion, status: 'deployed' });
    expect(operator?.revision).toBe((before[0]?.revision ?? 0) + 2);
    expect(await current('lab-1'), 'the chart was never upgraded').toEqual(chartBefore);
    expect(await cacheVersion('lab-1'), 'no synchronizer built the cache of 2.3.0').not.toBe('2.3.0');
    expect(await current('lab-2', 'express-operator')).toEqual(before[1]);
  });

  it('pauses on a failing synchronizer; after the fault is gone, retry completes', async () => {
    await lab.labFault('sync-fails', 'lab-1', true);
    const id = 'e2e-sync-retry';
    expect((await cli('start', plans.pause, '--id', id, '--chart-version', '2.2.0')).code).toBe(0);
    const paused = await watchUntilPause(id);
    expect(paused.stdout).toContain('waiting for a person');
    const status = await statusJson(id);
    expect(status.state).toBe('awaiting-decision');
    expect(status.clusters[0]).toMatchObject({ state: 'failed', failedStep: 'run-synchronizer' });
    expect(status.clusters[0]?.error).toMatch(
      /Job express\/synchronizer-2-2-0-\w+ on lab-1 failed: .*lab fault sync-fails/,
    );
    expect(await synchronizerJobs('lab-1'), 'the failed attempt left no Job behind').toEqual([]);

    await lab.labFault('sync-fails', 'lab-1', false);
    expect((await cli('retry', id, '--cluster', 'lab-1')).code).toBe(0);
    await watchUntilPause(id);
    expect((await cli('approve', id, '--phase', 'wave-1')).code).toBe(0);
    expect((await watchUntilPause(id)).code).toBe(0);
    for (const c of clusters) {
      expect(await current(c)).toMatchObject({ chartVersion: '2.2.0', status: 'deployed' });
      expect(await cacheVersion(c)).toBe('2.2.0');
    }
  });

  it('abort after a failing synchronizer leaves every cluster as it was', async () => {
    const before = await Promise.all(clusters.flatMap((c) => [current(c), current(c, 'express-operator')]));
    await lab.labFault('sync-fails', 'lab-1', true);
    const id = 'e2e-sync-abort';
    expect(
      (await cli('start', plans.pause, '--id', id, '--chart-version', '2.3.0', '--operator-version', '1.2.0')).code,
    ).toBe(0);
    await watchUntilPause(id);
    expect((await current('lab-1', 'express-operator'))?.chartVersion).toBe('1.2.0');
    expect((await cli('abort', id, '--reason', 'synchronizer broken')).code).toBe(0);
    expect((await watchUntilPause(id)).code).toBe(1);
    expect((await statusJson(id)).state).toBe('aborted');
    expect(await synchronizerJobs('lab-1')).toEqual([]);
    await lab.labFault('sync-fails', 'lab-1', false);

    const after = await Promise.all(clusters.flatMap((c) => [current(c), current(c, 'express-operator')]));
    after.forEach((r, i) => expect(r?.chartVersion).toBe(before[i]?.chartVersion));
    expect((await current('lab-1', 'express-operator'))?.status).toBe('deployed');
  });

  it('times out on a cache that never becomes ready, pauses, and says why in rollout status', async () => {
    await lab.labFault('bad-cache', 'lab-1', true, '2.3.0');
    const id = 'e2e-bad-cache';
    expect((await cli('start', plans.pause, '--id', id, '--chart-version', '2.3.0')).code).toBe(0);
    await watchUntilPause(id);
    const table = await cli('status', id);
    expect(table.stdout).toContain('awaiting-decision');
    expect(table.stdout).toMatch(/wait-cache/);
    expect(table.stdout).toMatch(
      /timed out waiting for the cache: ConfigMap express\/express-cache data\.readyVersion on lab-1 to be "2\.3\.0" \(it is "2\.2\.0"\)/,
    );
    expect((await current('lab-1'))?.chartVersion).toBe('2.2.0');
    expect((await cli('abort', id, '--reason', 'bad cache')).code).toBe(0);
    await watchUntilPause(id);
    await lab.labFault('bad-cache', 'lab-1', false, '2.3.0');
  });

  it('survives the worker killed in the middle of a Helm upgrade, with no extra Helm revision', async () => {
    const before = (await current('lab-1'))?.revision ?? 0;
    const id = 'e2e-worker-kill';
    expect((await cli('start', plans.pause, '--id', id, '--chart-version', '2.3.0')).code).toBe(0);
    // The chart's migration hook makes the upgrade last a few seconds: kill the worker while it is pending.
    const deadline = Date.now() + 120_000;
    while (!((await current('lab-1'))?.status === 'pending-upgrade')) {
      if (Date.now() > deadline) throw new Error('the upgrade of lab-1 was never seen in progress');
      await new Promise((r) => setTimeout(r, 200));
    }
    await stopWorker('SIGKILL');
    worker = startWorker();
    await watchUntilPause(id);
    expect((await cli('approve', id, '--phase', 'wave-1')).code).toBe(0);
    expect((await watchUntilPause(id)).code).toBe(0);

    const revisions = (await history('lab-1')).filter((h) => h.revision > before);
    expect(revisions.map((h) => [h.chartVersion, h.status])).toEqual([['2.3.0', 'deployed']]);
    expect(revisions[0]?.description).toBe(`phased-rollout: ${id} (chart 2.3.0)`);
    const canary = (await statusJson(id)).clusters[0];
    expect(canary?.resumedSteps, 'the upgrade the killed worker started is reported as resumed').toContain(
      'upgrade-chart',
    );
    expect(canary?.skippedSteps ?? []).not.toContain('upgrade-chart');
  });

  it('recovers a release left pending-upgrade by a killed helm client, with no extra revision', async () => {
    const before = (await current('lab-2'))?.revision ?? 0;
    const helmRun = spawn(
      helm,
      [
        'upgrade',
        'express',
        'express',
        '--repo',
        lab.readState()?.repoUrl ?? '',
        '--version',
        '2.2.0',
        '-n',
        'express',
        '--kube-context',
        'kwok-lab-2',
        '--kubeconfig',
        kubeconfig,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 60_000;
    while ((await current('lab-2'))?.status !== 'pending-upgrade') {
      if (Date.now() > deadline) throw new Error('helm upgrade never seen pending');
      await new Promise((r) => setTimeout(r, 100));
    }
    helmRun.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 7_000)); // past the migration hook: nobody will finish it now
    expect(await current('lab-2')).toMatchObject({ revision: before + 1, status: 'pending-upgrade' });

    const { createReleaseActivities } = await import('../../src/activities/releases.js');
    const { createDrivers } = await import('../../src/drivers/index.js');
    const { createKubeFactory } = await import('../../src/adapters/kube.js');
    const plan = (await import('../../src/plan/load.js')).parsePlan(readFileSync(plans.pause, 'utf8'), 'pause.yaml');
    const { pinSource } = await import('../../src/cli/source.js');
    const releases = createReleaseActivities({
      drivers: createDrivers({
        helm: new HelmClient(helm, kubeconfig, activityRunContext),
        files: new SourceFiles({ git: 'git', cacheDir: mkdtempSync(join(tmpdir(), 'sources-')) }),
        pendingGraceMs: 3_000,
        kube: createKubeFactory(() => {
          const kc = new KubeConfig();
          kc.loadFromFile(kubeconfig);
          return kc;
        }),
      }),
    });
    const activity = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() });
    const result = await activity.run(releases.upgradeRelease, {
      cluster: 'lab-2',
      context: 'kwok-lab-2',
      component: 'chart',
      release: plan.spec.release.chart as ReleaseSpec,
      version: '2.2.0',
      // Pinned as `rollout start` pins it: the upgrade reads only the files pinned here.
      source: (await pinSource(plan, dirname(plans.pause))).source,
      overlay: plan.spec.clusters.find((c) => c.name === 'lab-2')?.values,
      rolloutId: 'e2e-pending',
    });
    expect(result).toMatchObject({ changed: true, revision: before + 1, chartVersion: '2.2.0' });
    const after = (await history('lab-2')).filter((h) => h.revision > before);
    expect(after.map((h) => [h.revision, h.chartVersion, h.status])).toEqual([[before + 1, '2.2.0', 'deployed']]);
  });

  it('refuses a chart version the repository does not have before touching any cluster', async () => {
    const before = await Promise.all(clusters.flatMap((c) => [current(c), current(c, 'express-operator')]));
    const id = 'e2e-preflight';
    const r = await cli('start', plans.pause, '--id', id, '--chart-version', '2.7.0', '--operator-version', '1.2.0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused: preflight found 1 problem\(s\); no cluster was touched/);
    expect(r.stderr).toMatch(/- chart express 2\.7\.0: .*version "2\.7\.0" not found/);
    const status = await statusJson(id);
    expect(status.state).toBe('failed');
    expect(status.reason).toContain('2.7.0');
    const after = await Promise.all(clusters.flatMap((c) => [current(c), current(c, 'express-operator')]));
    expect(after).toEqual(before);
    expect(await synchronizerJobs('lab-1')).toEqual([]);
  });

  it('rides out an API server outage while waiting for the cache, saying since when the cluster is unreachable', async () => {
    await lab.labFault('bad-cache', 'lab-1', true, '2.1.0');
    const before = (await current('lab-1'))?.revision ?? 0;
    const id = 'e2e-outage';
    expect((await cli('start', plans.outage, '--id', id, '--chart-version', '2.1.0')).code).toBe(0);
    await statusUntil(id, (s) => s.clusters[0]?.step === 'wait-cache');
    await lab.labOutage('lab-1', true);
    try {
      const during = await statusUntil(id, (s) => s.clusters[0]?.unreachable !== undefined, 90_000);
      expect(during.state).toBe('running');
      expect(during.clusters[0]?.unreachable?.error).toMatch(
        /(list|watch) ConfigMap in kwok-lab-1: .*(ECONNREFUSED|ECONNRESET|connection refused|socket hang up|Premature close)/,
      );
      const table = await cli('status', id);
      expect(table.stdout).toMatch(/lab-1 .* unreachable since \S+, retrying/);
    } finally {
      await lab.labOutage('lab-1', false);
    }
    await lab.labFault('bad-cache', 'lab-1', false, '2.1.0');
    const gated = await watchUntilPause(id);
    expect(gated.stdout).toContain('phase "wave-1" awaits approval');
    expect((await cli('approve', id, '--phase', 'wave-1')).code).toBe(0);
    expect((await watchUntilPause(id)).code).toBe(0);
    for (const c of clusters) expect(await current(c)).toMatchObject({ chartVersion: '2.1.0', status: 'deployed' });
    const revisions = (await history('lab-1')).filter((h) => h.revision > before);
    expect(revisions.map((h) => [h.chartVersion, h.status])).toEqual([['2.1.0', 'deployed']]);
  });

  it('does not end a rollback it could not finish: it waits for a decision, and retry completes it', async () => {
    const before = await current('lab-1');
    const id = 'e2e-stuck-rollback';
    expect((await cli('start', plans.stuck, '--id', id, '--chart-version', '2.9.0')).code).toBe(0);
    await statusUntil(id, (s) => s.clusters[0]?.step === 'verify-chart');
    await lab.labOutage('lab-1', true);
    let stuck: Awaited<ReturnType<typeof statusJson>>;
    try {
      const rolling = await statusUntil(id, (s) => s.clusters[0]?.state === 'rolling-back', 240_000);
      expect(rolling.clusters[0]?.step, "the rollback's step, not the forward step that failed").toBe('rollback');
      const waiting = await watchUntilPause(id);
      expect(waiting.code).toBe(3);
      expect(waiting.stdout).toMatch(/waiting for a person: rollback could not finish on lab-1/);
      stuck = await statusJson(id);
    } finally {
      await lab.labOutage('lab-1', false);
    }
    expect(stuck.state).toBe('awaiting-decision');
    expect(stuck.clusters[0]).toMatchObject({ name: 'lab-1', state: 'rollback-failed' });
    expect(stuck.clusters[0]?.error).toMatch(/rollback failed: .*lab-1 \(context kwok-lab-1\) unreachable since/);

    expect((await cli('retry', id, '--cluster', 'lab-1', '-m', 'API server is back')).code).toBe(0);
    let end = await watchUntilPause(id);
    for (let retries = 0; end.code === 3 && retries < 3; retries++) {
      // On a loaded machine the restarted control plane can take longer than the rollback timeout to serve
      // Helm again: the rollback then waits for a person once more, as it should; a person retries.
      const again = await statusJson(id);
      expect(again.clusters[0], JSON.stringify(again.clusters[0])).toMatchObject({ state: 'rollback-failed' });
      expect((await cli('retry', id, '--cluster', 'lab-1', '-m', 'once more')).code).toBe(0);
      end = await watchUntilPause(id);
    }
    expect(end.code).toBe(1);
    const status = await statusJson(id);
    expect(status.state).toBe('rolled-back');
    expect(status.clusters[0]?.state).toBe('rolled-back');
    expect(await current('lab-1')).toMatchObject({ chartVersion: before?.chartVersion, status: 'deployed' });
  });

  it('rolls from the config repository pinned at start: a worker with no files runs it, a commit mid-rollout never reaches the wave', async () => {
    const state = lab.readState();
    const worktree = state?.git?.worktree ?? '';
    // The plan from a clone of the lab's config repository, copied to a folder that holds none of its files.
    const planDir = mkdtempSync(join(tmpdir(), 'git-plan-'));
    const planFile = join(planDir, 'lab.yaml');
    writeFileSync(
      planFile,
      readFileSync(join(worktree, 'rollout-plans', 'lab.yaml'), 'utf8').replace('bake: 20s', 'bake: 3s'),
    );
    const pinned = execFileSync('git', ['-C', worktree, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

    // Only a worker in an empty folder, with its own source cache, runs this rollout.
    await stopWorker();
    const cwd = mkdtempSync(join(tmpdir(), 'bare-worker-'));
    const sourceCache = mkdtempSync(join(tmpdir(), 'worker-sources-'));
    worker = startWorker({ cwd, env: { ROLLOUT_SOURCE_CACHE: sourceCache } });
    try {
      const id = 'e2e-git';
      const started = await cli('start', planFile, '--id', id, '--chart-version', '2.2.0');
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toContain(`pinned to ${state?.git?.url} (rollout-plans) at ${pinned.slice(0, 12)} (main)`);
      const gated = await watchUntilPause(id);
      expect(gated.stdout).toContain('phase "wave-1" awaits approval');

      // The gate shows what the wave would change; `rollout diff` prints it, and previews a plan's cluster too.
      const atGate = await statusJson(id);
      expect(atGate.reason).toMatch(/diff \w{12}: \d distinct; (operator|chart): lab-\d.*: .*Deployment changed/);
      const shown = await cli('diff', id, '--cluster', 'lab-2');
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(
        /^== operator: lab-2: .* \[\w{12}\]\n(# operator express-operator\n|\(no changes\))/,
      );
      expect(shown.stdout).toMatch(/^== chart: lab-2: .*Deployment changed.* \[\w{12}\]\n# chart express\n/m);
      expect(shown.stdout).toContain('+++ Deployment express/fe');
      expect(shown.stdout).toMatch(/^\+.*app\.kubernetes\.io\/version: 2\.2\.0$/m);
      const preview = await cli('diff', planFile, '--cluster', 'lab-3');
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stdout).toMatch(/^== operator: lab-3: /);

      // Someone commits an edit to the base values while the rollout waits at the gate.
      const edited = await lab.labCommit('Base values: a change the canary never ran', (tree) =>
        appendFileSync(join(tree, 'overlays', 'base.yaml'), 'pinnedCheck: edited-after-start\n'),
      );
      expect(edited).not.toBe(pinned);
      // ...and someone changes lab-2 by hand, with helm, after the diff was shown.
      const lab2 = await current('lab-2');
      handUpgrade('lab-2', lab2?.chartVersion ?? '', 'serviceName=fe3.fe.express');
      expect((await cli('approve', id, '--phase', 'wave-1', '-m', 'canary healthy')).code).toBe(0);
      const voided = await statusUntil(id, (s) => /no longer holds/.test(s.reason ?? ''), 60_000);
      expect(voided.state).toBe('awaiting-approval');
      expect(voided.reason).toMatch(/^the diff changed since e2e approved it \(\w{12} -> \w{12}\)/);
      expect((await current('lab-3'))?.chartVersion, 'the wave did not start').not.toBe('2.2.0');
      const again = await cli('approve', id, '--phase', 'wave-1', '-m', 'the hand change on lab-2 goes');
      expect(again.code, again.stderr).toBe(0);
      const ended = await watchUntilPause(id);
      expect(ended.code, `${ended.stdout}\n${JSON.stringify(await statusJson(id), null, 1)}`).toBe(0);

      const status = await statusJson(id);
      expect(status).toMatchObject({ state: 'succeeded', sourceRevision: pinned });
      for (const c of clusters) {
        expect(await current(c)).toMatchObject({ chartVersion: '2.2.0', status: 'deployed' });
        const values = JSON.parse(
          execFileSync(
            helm,
            [
              'get',
              'values',
              'express',
              '-n',
              'express',
              '-o',
              'json',
              '--kube-context',
              `kwok-${c}`,
              '--kubeconfig',
              kubeconfig,
            ],
            {
              encoding: 'utf8',
            },
          ),
        ) as Record<string, unknown>;
        expect(values, `${c} runs the pinned commit's values`).not.toHaveProperty('pinnedCheck');
        expect(values.serviceName, `${c} runs the pinned serviceName, not the hand-set one`).toBe('express');
      }
      expect(readdirSync(sourceCache), 'the worker fetched the pinned commit, once').toEqual([pinned]);

      // The fleet against the config repository as it is now: its base values moved on since the rollout.
      const fleetPlan = join(planDir, 'fleet.yaml');
      writeFileSync(fleetPlan, readFileSync(planFile, 'utf8').replace(/version: 2\.1\.0/, 'version: 2.2.0'));
      const drifted = await cli('fleet', fleetPlan, '-o', 'json');
      expect(drifted.code).toBe(1);
      const report = JSON.parse(drifted.stdout) as {
        counts: Record<string, number>;
        rows: { verdict: string; reasons: string[] }[];
      };
      expect(report.counts).toEqual({ 'values-drift': 3 });
      expect(report.rows[0]?.reasons[0]).toMatch(/^chart runs other values than the config source's/);
      // Put the values back in the repository, change lab-3 by hand: only lab-3 drifts now.
      await lab.labCommit('Base values: back as they were', (tree) => {
        const base = join(tree, 'overlays', 'base.yaml');
        writeFileSync(base, readFileSync(base, 'utf8').replace('pinnedCheck: edited-after-start\n', ''));
      });
      handUpgrade('lab-3', '2.2.0', 'frontend.replicas=3');
      const fleet = await cli('fleet', fleetPlan, '--schedule', '1h');
      expect(fleet.code).toBe(1);
      expect(fleet.stdout).toContain('fleet of plan lab: 1 values-drift, 2 in-sync');
      expect(fleet.stdout).toMatch(/lab-1 .*2\.2\.0 rev \d+ deployed by e2e-git .* in-sync/);
      expect(fleet.stdout).toMatch(/lab-3 .*2\.2\.0 rev \d+ deployed not by a rollout, values differ .* values-drift/);
      expect(fleet.stdout).toContain('scheduled: fleet-lab checks every 1h');
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      try {
        const scheduled = client(connection).schedule.getHandle('fleet-lab');
        const described = await scheduled.describe();
        expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'fleetStatus' });
        await scheduled.delete();
      } finally {
        await connection.close();
      }
    } finally {
      await stopWorker();
      worker = startWorker();
    }
  });

  it('rolls the canary back when its error rate goes bad in the metrics server, and never touches the wave', async () => {
    const before = await Promise.all(clusters.map((c) => current(c)));
    await lab.labFault('bad-metrics', 'lab-1', true);
    try {
      const id = 'e2e-analysis';
      const started = await cli('start', plans.analysis, '--id', id, '--chart-version', '2.3.0');
      expect(started.code, started.stderr).toBe(0);
      expect((await watchUntilPause(id)).code).toBe(1);
      const status = await statusJson(id);
      expect(status.state).toBe('rolled-back');
      expect(status.clusters[0]).toMatchObject({ name: 'lab-1', state: 'rolled-back', failedStep: 'analysis' });
      const analysis = (status.clusters[0] as { analyses?: { query: string; measurements: { value?: number }[] }[] })
        .analyses?.[0];
      expect(analysis?.query).toBe('max(lab_error_rate{cluster="lab-1"})');
      expect(analysis?.measurements[0]?.value).toBe(0.5);
      expect(status.reason).toMatch(/analysis error-rate failed: 1 of 1 measurements failed \(0\.5\)/);
      expect(await current('lab-1')).toMatchObject({ chartVersion: before[0]?.chartVersion, status: 'deployed' });
      expect(await current('lab-2')).toEqual(before[1]);
      expect(await current('lab-3')).toEqual(before[2]);
    } finally {
      await lab.labFault('bad-metrics', 'lab-1', false);
    }
  });
});

/**
 * A release of four charts rolled as one on the lab: the operator, the synchronizer, the product's chart,
 * the farmer, and the accelerator, a chart only the clusters labelled `accelerators: "true"` get (lab-1 and
 * lab-3). Forward, then a second rollout whose farmer (the third component) never becomes ready on a wave
 * cluster: the rollout rolls every cluster back, and Helm's history on every cluster says what happened.
 */
describe('a release of several components, rolled as one', { timeout: 600_000 }, () => {
  const accelerated = ['lab-1', 'lab-3'];
  let dir = '';

  /** The lab plan as a list of components, at these versions, with farmer overlays by cluster. */
  function componentsPlan(versions: { operator: string; express: string }, farmer: Record<string, string> = {}) {
    const plan = parseYaml(labPlanText) as {
      spec: {
        release: Record<string, unknown>;
        clusters: { name: string; values?: string; operatorValues?: string; labels: Record<string, string> }[];
        phases: unknown[];
        onFailure: Record<string, unknown>;
        verify: { timeout: string };
      };
    };
    const { operator, chart } = plan.spec.release as Record<string, Record<string, unknown>>;
    const fromLab = (name: string, version: string, extra: object = {}) => ({
      name,
      chart: `express-${name}`,
      repository: chart?.['repository'],
      version,
      releaseName: `express-${name}`,
      namespace: 'express',
      timeout: '1m',
      ...extra,
    });
    plan.spec.release = {
      components: [
        { name: 'operator', ...operator, version: versions.operator },
        { step: 'synchronizer' },
        { name: 'express', ...chart, version: versions.express },
        fromLab('farmer', '1.4.0'),
        fromLab('accelerator', '1.0.0', { selector: { matchLabels: { accelerators: 'true' } } }),
      ],
    };
    plan.spec.clusters = plan.spec.clusters.map(({ values, operatorValues, ...c }) => ({
      ...c,
      labels: { ...c.labels, ...(accelerated.includes(c.name) ? { accelerators: 'true' } : {}) },
      overlays: {
        ...(operatorValues ? { operator: operatorValues } : {}),
        ...(values ? { express: values } : {}),
        ...(farmer[c.name] ? { farmer: farmer[c.name] } : {}),
      },
    }));
    plan.spec.phases = [
      { name: 'canary', clusters: ['lab-1'], approval: 'auto', bake: '0s' },
      { name: 'wave', clusters: ['lab-2', 'lab-3'], approval: 'auto', maxParallel: 1 },
    ];
    plan.spec.onFailure = { action: 'rollback', rollbackScope: 'all' };
    plan.spec.verify.timeout = '20s';
    const file = join(dir, `components-${randomUUID().slice(0, 6)}.yaml`);
    writeFileSync(file, stringifyYaml(plan));
    return file;
  }

  /** Revision, version, status and description of each of a release's revisions on a cluster. */
  const revisions = async (c: string, release: string) =>
    (await history(c, release)).map((h) => [h.revision, h.chartVersion, h.status, h.description]);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'components-'));
    // lab-3's own farmer values: pods that never become Ready (a bad setting for that site).
    writeFileSync(join(dir, 'farmer-lab-3.yaml'), 'faults:\n  podsNeverReady: true\n');
  });

  it('rolls operator, synchronizer, product, farmer and a label-limited accelerator in order; the farmer failing on a wave cluster rolls every cluster back', async () => {
    const versions = {
      operator: await versionNoneRuns('express-operator', clusters),
      express: await versionNoneRuns('express', clusters),
    };
    const plan = componentsPlan(versions);
    const id = 'e2e-components';
    const started = await cli('start', plan, '--id', id, '--set', 'farmer=1.4.1');
    expect(started.code, started.stderr).toBe(0);
    const done = await statusUntil(id, (s) => ['succeeded', 'failed', 'rolled-back'].includes(s.state));
    expect(done.state, JSON.stringify(done.clusters)).toBe('succeeded');
    for (const c of clusters) {
      expect(await current(c, 'express-operator')).toMatchObject({
        chartVersion: versions.operator,
        status: 'deployed',
      });
      expect(await current(c)).toMatchObject({ chartVersion: versions.express, status: 'deployed' });
      expect(await revisions(c, 'express-farmer')).toEqual([
        [1, '1.4.1', 'deployed', `phased-rollout: ${id} (farmer 1.4.1)`],
      ]);
    }
    // The accelerator where the labels say, installed by this rollout; nowhere else.
    for (const c of accelerated) {
      expect(await revisions(c, 'express-accelerator')).toEqual([
        [1, '1.0.0', 'deployed', `phased-rollout: ${id} (accelerator 1.0.0)`],
      ]);
    }
    expect(await history('lab-2', 'express-accelerator')).toEqual([]);
    const status = JSON.parse((await cli('status', id, '-o', 'json')).stdout) as RolloutStatus;
    expect(status.versions).toEqual({ ...versions, farmer: '1.4.1', accelerator: '1.0.0' });
    expect(status.clusters.find((c) => c.name === 'lab-2')?.notApplicable).toEqual(['accelerator']);
    expect((await cli('status', id)).stdout).toMatch(/lab-2 .*not for this cluster \(labels\): accelerator/);
    // The fleet reads each component where it belongs, against the plan: the farmer --set rolled is drift.
    const fleet = await cli('fleet', plan, '-o', 'json');
    const report = JSON.parse(fleet.stdout) as FleetReport;
    expect(fleet.code, fleet.stdout).toBe(1);
    expect(report.rows.map((r) => [r.cluster, Object.keys(r.releases), r.verdict, r.reasons])).toEqual(
      clusters.map((c) => [
        c,
        ['operator', 'express', 'farmer', ...(accelerated.includes(c) ? ['accelerator'] : [])],
        'version-drift',
        ['farmer runs 1.4.1, the config source wants 1.4.0'],
      ]),
    );

    // Second release: new operator and product, the plan's farmer, set on lab-3 never to become Ready.
    const before = new Map<string, Record<string, unknown[]>>();
    for (const c of clusters) {
      before.set(c, {
        operator: await revisions(c, 'express-operator'),
        express: await revisions(c, 'express'),
        accelerator: await revisions(c, 'express-accelerator'),
      });
    }
    const next = {
      operator: await versionNoneRuns('express-operator', clusters),
      express: await versionNoneRuns('express', clusters),
    };
    const broken = componentsPlan(next, { 'lab-3': join(dir, 'farmer-lab-3.yaml') });
    const id2 = 'e2e-components-fail';
    const second = await cli('start', broken, '--id', id2);
    expect(second.code, second.stderr).toBe(0);
    const end = await statusUntil(
      id2,
      (s) => ['succeeded', 'failed', 'rolled-back', 'awaiting-decision'].includes(s.state),
      400_000,
    );
    expect(end.state, JSON.stringify(end.clusters)).toBe('rolled-back');
    expect(end.clusters.find((c) => c.name === 'lab-3')).toMatchObject({
      state: 'rolled-back',
      failedStep: 'verify-farmer',
    });
    for (const c of clusters) {
      const was = before.get(c);
      const last = (r: unknown[] | undefined) => (r?.at(-1) as unknown[] | undefined)?.[1];
      // The operator and the product back at their versions, by a rollback revision of their own.
      expect((await current(c, 'express-operator'))?.chartVersion, c).toBe(last(was?.operator));
      expect(await current(c), c).toMatchObject({ chartVersion: last(was?.express), status: 'deployed' });
      // The farmer: 1.4.1 by the first rollout, 1.4.0 by the second, back to the first revision.
      expect(await revisions(c, 'express-farmer'), c).toEqual([
        [1, '1.4.1', 'superseded', `phased-rollout: ${id} (farmer 1.4.1)`],
        [2, '1.4.0', 'superseded', `phased-rollout: ${id2} (farmer 1.4.0)`],
        [3, '1.4.1', 'deployed', 'Rollback to 1'],
      ]);
      // The accelerator: the same version and values (lab-1), never reached (lab-3), or not there (lab-2):
      // no revision at all from the second rollout or its rollback.
      expect(await revisions(c, 'express-accelerator'), c).toEqual(was?.accelerator);
    }
  });
});

/**
 * Stop means stop, on real clusters: an abort, a pause and a freeze sent while a cluster is at each of its
 * steps, and what Helm's histories and the API servers hold afterwards. After an abort returns, nothing may
 * be created but the rollbacks that restore; after a pause or freeze returns, no cluster that had not
 * started may change until the rollout goes on. The lab's steps are made to last a few seconds each (an
 * operator migration hook, a synchronizer Job that takes 5 s, a longer verification window), so each
 * control lands inside the step it targets, and the reply's in-flight list says it did.
 */
describe(
  'stop means stop: what abort, pause and freeze forbid never starts after they return',
  { timeout: 600_000 },
  () => {
    let connection: Connection;
    let temporal: Client;
    /** Every Job the clusters' API servers added while these tests ran, with its creation time. */
    const jobs: { cluster: string; name: string; created: number }[] = [];
    const watches: AbortController[] = [];
    const operatorMigrates = 'upgradeHook: { enabled: true }\n';
    let syncTemplate = '';

    beforeAll(async () => {
      connection = await Connection.connect({ address: inject('temporalAddress') });
      temporal = new Client({ connection, dataConverter });
      for (const c of clusters) {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfig);
        kc.setCurrentContext(`kwok-${c}`);
        const watch = new Watch(kc).watch(
          '/apis/batch/v1/jobs',
          {},
          (type, obj: { metadata?: { name?: string; namespace?: string; creationTimestamp?: string | Date } }) => {
            if (type !== 'ADDED') return;
            const created = new Date(obj.metadata?.creationTimestamp ?? 0).getTime();
            jobs.push({ cluster: c, name: `${obj.metadata?.namespace}/${obj.metadata?.name}`, created });
          },
          () => undefined,
        );
        watches.push(await watch);
      }
      const dir = mkdtempSync(join(tmpdir(), 'stop-'));
      syncTemplate = join(dir, 'synchronizer-job.yaml');
      writeFileSync(
        syncTemplate,
        readFileSync(join(root, 'charts/synchronizer-job.yaml'), 'utf8').replace(
          '      labels:\n        app.kubernetes.io/name: express-synchronizer\n    spec:',
          "      labels:\n        app.kubernetes.io/name: express-synchronizer\n        phased-rollout.dev/slow: 'true'\n    spec:",
        ),
      );
    });

    afterAll(async () => {
      for (const w of watches) w.abort();
      await connection?.close();
    });

    /** The lab plan over `on`, its steps slowed down, each phase as `phases` says; written to a file. */
    /**
     * The lab plan over the phases' clusters, approvals automatic and no bake. The steps of the clusters in
     * `slow` are made to last (the operator's migration hook, a 5 s synchronizer Job); the others run at
     * the lab's own pace.
     */
    function stopPlan(
      name: string,
      phases: { name: string; clusters: string[]; maxParallel?: number }[],
      opts: { slow: string[]; window?: string },
    ) {
      const plan = parseYaml(labPlanText) as {
        spec: {
          synchronizer: { template: { file: string } };
          verify: { window: string };
          clusters: { name: string; operatorValues?: string }[];
          phases: unknown[];
        };
      };
      const dir = mkdtempSync(join(tmpdir(), 'stop-plan-'));
      const on = phases.flatMap((p) => p.clusters);
      if (on.every((c) => opts.slow.includes(c))) plan.spec.synchronizer.template.file = syncTemplate;
      plan.spec.verify.window = opts.window ?? '3s';
      plan.spec.clusters = plan.spec.clusters.filter((c) => on.includes(c.name));
      for (const c of plan.spec.clusters.filter((x) => opts.slow.includes(x.name))) {
        // The cluster's own operator overlay, plus the migration hook.
        const overlay = join(dir, `${c.name}-operator.yaml`);
        writeFileSync(overlay, `${readFileSync(c.operatorValues ?? '', 'utf8')}\n${operatorMigrates}`);
        c.operatorValues = overlay;
      }
      plan.spec.phases = phases.map((p) => ({ ...p, approval: 'auto', bake: '0s' }));
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, stringifyYaml(plan));
      return file;
    }

    const status = (id: string) => temporal.workflow.getHandle(id).query(statusQuery);

    async function until(id: string, pred: (s: RolloutStatus) => boolean, what: string, ms = 180_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const s = await status(id);
        if (pred(s)) return s;
        if (Date.now() > deadline) throw new Error(`${id} never ${what}: ${JSON.stringify(s.clusters)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    /**
     * Waits until `cluster` has been at `step` (its workflow's progress query) for a second: long enough for
     * the step's own change to exist.
     */
    async function atStep(id: string, cluster: string, step: string) {
      const child = temporal.workflow.getHandle(`${id}:${cluster}`);
      const deadline = Date.now() + 180_000;
      for (;;) {
        const at = await child.query(progressQuery).then(
          (p) => p.step,
          () => undefined,
        );
        if (at === step) break;
        if (Date.now() > deadline) throw new Error(`${cluster} of ${id} never reached ${step} (at ${at})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1000));
    }

    const ended = (s: RolloutStatus) => ['succeeded', 'aborted', 'failed', 'rolled-back'].includes(s.state);

    /**
     * What changed on `cluster` after `t` (and before `until`): Helm revisions (Helm stamps each as it begins,
     * in nanoseconds) and Jobs (the API server stamps them in whole seconds: one stamped in the second of `t`
     * may have come before it, so only later seconds count).
     */
    async function changedAfter(cluster: string, t: number, until = Infinity) {
      const revisions = [
        ...(await history(cluster, 'express-operator')).map((r) => ({ ...r, release: 'express-operator' })),
        ...(await history(cluster)).map((r) => ({ ...r, release: 'express' })),
      ]
        .filter((r) => Date.parse(r.updated ?? '') > t && Date.parse(r.updated ?? '') < until)
        .map((r) => `${r.release} ${r.revision} ${r.chartVersion} ${r.status}: ${r.description}`);
      const second = Math.floor(t / 1000) * 1000 + 1000;
      const created = jobs
        .filter((j) => j.cluster === cluster && j.created >= second && j.created < until)
        .map((j) => j.name);
      return { revisions, jobs: created };
    }

    /** Versions unlike what runs on any of `on`, so every step changes something. */
    async function newVersions(on: string[]) {
      const running = await Promise.all(on.flatMap((c) => [current(c), current(c, 'express-operator')]));
      const versions = new Set(running.map((r) => r?.chartVersion));
      const chart = ['2.3.0', '2.2.0', '2.1.0'].find((v) => !versions.has(v)) ?? '';
      const operator = ['1.2.0', '1.1.0', '1.0.0'].find((v) => !versions.has(v)) ?? '';
      return { chart, operator };
    }

    /** Starts a one-cluster rollout, aborts it while `cluster` is at `step`, and checks what happened after. */
    async function abortAt(cluster: string, step: string) {
      const before = [await current(cluster, 'express-operator'), await current(cluster)];
      const { chart, operator } = await newVersions([cluster]);
      const id = `e2e-abort-at-${step}`;
      if (step === 'wait-cache') await lab.labFault('bad-cache', cluster, true, chart);
      try {
        const plan = stopPlan(id, [{ name: 'canary', clusters: [cluster] }], { slow: [cluster], window: '6s' });
        const started = await cli('start', plan, '--id', id, '--chart-version', chart, '--operator-version', operator);
        expect(started.code, started.stderr).toBe(0);
        await atStep(id, cluster, step);
        const reply = await temporal.workflow
          .getHandle(id)
          .executeUpdate(abortUpdate, { args: [{ by: 'e2e', reason: `abort at ${step}` }] });
        const t = Date.now();
        expect(reply.inFlight, 'the reply names the step that was running').toEqual([{ cluster, step }]);
        const end = await until(id, ended, 'ended');
        expect(end.state).toBe('aborted');
        const after = await changedAfter(cluster, t);
        expect(
          after.revisions.filter((r) => !/: Rollback to \d+$/.test(r)),
          `after the abort at ${step} returned, only rollbacks that restore`,
        ).toEqual([]);
        expect(after.jobs, `no Job created after the abort at ${step} returned`).toEqual([]);
        // Restored: what ran before runs again.
        const restored = [await current(cluster, 'express-operator'), await current(cluster)];
        expect(
          restored.map((r) => r?.chartVersion),
          `${cluster} restored after the abort at ${step}: ${JSON.stringify(end.clusters)}`,
        ).toEqual(before.map((r) => r?.chartVersion));
      } finally {
        if (step === 'wait-cache') await lab.labFault('bad-cache', cluster, false, chart);
      }
    }

    it('abort at each step of a cluster: nothing is created after it returns but the rollbacks that restore', async () => {
      // Three one-cluster rollouts at once, one per cluster, twice: every step of a cluster's pipeline.
      await Promise.all([
        abortAt('lab-1', 'upgrade-operator'),
        abortAt('lab-2', 'run-synchronizer'),
        abortAt('lab-3', 'upgrade-chart'),
      ]);
      await Promise.all([
        abortAt('lab-1', 'verify-operator'),
        abortAt('lab-2', 'wait-cache'),
        abortAt('lab-3', 'verify-chart'),
      ]);
    });

    it('pause and freeze: the cluster in flight finishes, no cluster or phase starts until the rollout goes on', async () => {
      const id = 'e2e-pause-freeze';
      const { chart, operator } = await newVersions(clusters);
      const plan = stopPlan(
        id,
        [
          { name: 'canary', clusters: ['lab-1'] },
          { name: 'wave', clusters: ['lab-2', 'lab-3'], maxParallel: 1 },
        ],
        { slow: ['lab-1'] },
      );
      const started = await cli('start', plan, '--id', id, '--chart-version', chart, '--operator-version', operator);
      expect(started.code, started.stderr).toBe(0);
      const handle = temporal.workflow.getHandle(id);

      // A pause while the canary upgrades its operator: the canary finishes, the wave does not start.
      await atStep(id, 'lab-1', 'upgrade-operator');
      const paused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'e2e' }] });
      const t1 = Date.now();
      expect(paused.inFlight).toEqual([{ cluster: 'lab-1', step: 'upgrade-operator' }]);
      await until(id, (s) => s.clusters[0]?.state === 'succeeded', 'finished its canary');
      await new Promise((r) => setTimeout(r, 3000));
      const held = await status(id);
      expect(held.clusters.map((c) => c.state)).toEqual(['succeeded', 'pending', 'pending']);
      for (const c of ['lab-2', 'lab-3'])
        expect(await changedAfter(c, t1), `${c} while paused`).toEqual({ revisions: [], jobs: [] });
      await handle.executeUpdate(resumeUpdate, { args: [{ by: 'e2e' }] });
      const resumed = Date.now();

      // A freeze of the plan (the CLI, through the control registry) while lab-2 upgrades its chart.
      await atStep(id, 'lab-2', 'upgrade-chart');
      let unfrozen = false;
      try {
        const froze = await cli('freeze', '--plan', 'lab', '--reason', 'e2e: stop means stop');
        const t2 = Date.now();
        expect(froze.code, froze.stderr).toBe(0);
        expect(froze.stdout).toContain(`1 running rollout(s) told: ${id}`);
        await until(id, (s) => s.clusters[1]?.state === 'succeeded', 'finished lab-2');
        await new Promise((r) => setTimeout(r, 3000));
        expect((await status(id)).clusters[2]?.state).toBe('pending');
        expect(await changedAfter('lab-3', t2), 'lab-3 while frozen').toEqual({ revisions: [], jobs: [] });
        expect(await changedAfter('lab-3', resumed), 'lab-3 had not started before the freeze').toEqual({
          revisions: [],
          jobs: [],
        });
        expect((await cli('unfreeze', '--plan', 'lab')).code).toBe(0);
        unfrozen = true;
      } finally {
        if (!unfrozen) await cli('unfreeze', '--plan', 'lab');
      }
      const end = await until(id, ended, 'ended');
      expect(end.state).toBe('succeeded');
      for (const c of clusters) {
        expect(await current(c)).toMatchObject({ chartVersion: chart, status: 'deployed' });
        expect(await current(c, 'express-operator')).toMatchObject({ chartVersion: operator, status: 'deployed' });
      }
    });
  },
);

describe("an operator's CRDs in crds/, which Helm never upgrades", { timeout: 400_000 }, () => {
  const crdName = 'widgets.fixtures.phased-rollout.dev';
  let repo: ChartRepository;

  /** The fixture operator's CRD at one of its versions: each changes it as real operators do. */
  function widgetCrd(version: string): string {
    const schema = (required: string[], extra: Record<string, unknown> = {}) => ({
      openAPIV3Schema: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            ...(required.length > 0 ? { required } : {}),
            properties: { size: { type: 'integer', minimum: 1 }, ...extra },
          },
        },
      },
    });
    // An enum, and a free-form field (x-kubernetes-* keys must survive the apply as written).
    const color = {
      color: { type: 'string', enum: ['red', 'blue'] },
      extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    };
    const versions: Record<string, unknown[]> = {
      '1.0.0': [{ name: 'v1', served: true, storage: true, schema: schema([]) }],
      // Safe: a new optional field, and a new served version beside the stored one.
      '1.1.0': [
        { name: 'v1', served: true, storage: true, schema: schema([], color) },
        { name: 'v2', served: true, storage: false, schema: schema([], color) },
      ],
      // Unsafe: a new required field the existing Widget lacks.
      '1.2.0': [{ name: 'v1', served: true, storage: true, schema: schema(['owner'], { owner: { type: 'string' } }) }],
      // Unsafe: v1 dropped while objects are stored at it.
      '1.3.0': [{ name: 'v2', served: true, storage: true, schema: schema([], color) }],
    };
    return stringifyYaml({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group: 'fixtures.phased-rollout.dev',
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets' },
        versions: versions[version],
      },
    });
  }

  beforeAll(async () => {
    repo = await startChartRepository();
    for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) {
      const dir = mkdtempSync(join(tmpdir(), 'widget-operator-'));
      cpSync(join(root, 'test/fixtures/charts/widget-operator'), join(dir, 'widget-operator'), { recursive: true });
      writeFileSync(join(dir, 'widget-operator/crds/widgets.yaml'), widgetCrd(version));
      execFileSync(helm, ['package', join(dir, 'widget-operator'), '--version', version, '-d', repo.dir]);
    }
    await repo.index();
  });

  afterAll(async () => {
    await repo?.stop();
  });

  /** The lab plan on lab-3 alone, its operator the fixture's; the chart stays at what lab-3 runs. */
  function widgetPlan(name: string) {
    const plan = parseYaml(readFileSync(plans.rollback, 'utf8')) as {
      spec: { release: { operator: Record<string, unknown> }; clusters: { name: string }[]; phases: unknown[] };
    };
    Object.assign(plan.spec.release.operator, {
      chart: 'widget-operator',
      repository: repo.url,
      releaseName: 'widget-operator',
      namespace: 'widget-system',
    });
    plan.spec.clusters = plan.spec.clusters.filter((c) => c.name === 'lab-3');
    plan.spec.phases = [{ name: 'canary', clusters: ['lab-3'], approval: 'auto', bake: '0s' }];
    const file = join(mkdtempSync(join(tmpdir(), 'widget-plan-')), `${name}.yaml`);
    writeFileSync(file, stringifyYaml(plan));
    return file;
  }

  const operator = () => new HelmClient(helm, kubeconfig).history('kwok-lab-3', 'widget-operator', 'widget-system');

  async function liveCrd() {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    kc.setCurrentContext('kwok-lab-3');
    const objects = kc.makeApiClient(KubernetesObjectApi);
    type LiveCrd = KubernetesObject & {
      spec: {
        versions: {
          name: string;
          schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } };
        }[];
      };
      status: { storedVersions: string[] };
    };
    return objects.read<LiveCrd>({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
    });
  }

  it('installs the CRD, diffs its change, refuses unsafe ones before anything changes, applies a safe one, and a rollback leaves it in place', async () => {
    const chart = (await current('lab-3'))?.chartVersion ?? '';
    const s1 = await startAndFinish(widgetPlan('widgets-1'), 'e2e-widgets-1', chart, '1.0.0');
    expect(s1.state, JSON.stringify(s1.clusters)).toBe('succeeded');
    expect((await liveCrd()).spec.versions.map((v) => v.name)).toEqual(['v1']);
    // A Widget stored at v1, as the operator's users create them.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    kc.setCurrentContext('kwok-lab-3');
    await kc.makeApiClient(KubernetesObjectApi).create({
      apiVersion: 'fixtures.phased-rollout.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'default' },
      spec: { size: 3 },
    } as KubernetesObject);

    // The diff shows the CRD's change against the cluster's definition.
    const diff = await cli('diff', widgetPlan('widgets-diff'), '--chart-version', chart, '--operator-version', '1.1.0');
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain(`--- CustomResourceDefinition ${crdName}`);
    expect(diff.stdout).toMatch(/^\+ {4}- name: v2$/m);

    // Unsafe changes: refused by preflight on every cluster, naming the CRD, the version and the object.
    const revisions = (await operator()).length;
    const required = await cli(
      'start',
      widgetPlan('widgets-2'),
      '--id',
      'e2e-widgets-required',
      '--chart-version',
      chart,
      '--operator-version',
      '1.2.0',
    );
    expect(required.code, required.stderr).toBe(2);
    expect(required.stderr).toContain(
      `cluster lab-3: CRD ${crdName}: Widget default/w1 does not validate against the new schema of v1: spec.owner: required, and the object has none`,
    );
    const dropped = await cli(
      'start',
      widgetPlan('widgets-3'),
      '--id',
      'e2e-widgets-dropped',
      '--chart-version',
      chart,
      '--operator-version',
      '1.3.0',
    );
    expect(dropped.code, dropped.stderr).toBe(2);
    expect(dropped.stderr).toContain(
      `cluster lab-3: CRD ${crdName}: the new definition drops version v1, which status.storedVersions lists`,
    );
    expect((await operator()).length, 'no operator upgrade was attempted').toBe(revisions);
    expect((await liveCrd()).spec.versions.map((v) => v.name)).toEqual(['v1']);

    // A safe change is applied before the operator's upgrade; the synchronizer then fails (a lab fault),
    // and the rollback returns the operator to 1.0.0 but leaves the CRD as applied (and the Widget).
    await lab.labFault('sync-fails', 'lab-3', true);
    let safe: CliRun;
    try {
      safe = await cli(
        'start',
        widgetPlan('widgets-4'),
        '--id',
        'e2e-widgets-safe',
        '--chart-version',
        chart,
        '--operator-version',
        '1.1.0',
      );
      expect(safe.code, safe.stderr).toBe(0);
      await statusUntil('e2e-widgets-safe', (s) => ['succeeded', 'failed', 'rolled-back'].includes(s.state));
    } finally {
      await lab.labFault('sync-fails', 'lab-3', false);
    }
    const s4 = await statusJson('e2e-widgets-safe');
    expect(s4.state, JSON.stringify(s4.clusters)).toBe('rolled-back');
    expect((await operator()).pop()).toMatchObject({ chartVersion: '1.0.0', status: 'deployed' });
    const after = await liveCrd();
    expect(after.spec.versions.map((v) => v.name)).toEqual(['v1', 'v2']);
    const applied = after.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties ?? {};
    expect(Object.keys(applied)).toEqual(expect.arrayContaining(['color', 'extra']));
    // client-node's typed model spells the key x_kubernetes_preserve_unknown_fields; the server kept it.
    expect(JSON.stringify(applied['extra'])).toMatch(/preserve.unknown.fields":true/);
    expect(after.status.storedVersions).toEqual(['v1']);
    expect(after.metadata?.managedFields?.map((f) => f.manager)).toContain('phased-rollout');
    const widget = await kc.makeApiClient(KubernetesObjectApi).read({
      apiVersion: 'fixtures.phased-rollout.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'default' },
    });
    expect(widget.metadata?.name).toBe('w1');

    // `crds: skip`: the same unsafe version rolls, its CRDs left as they are; the diff and status say so.
    const skipPlan = widgetPlan('widgets-skip');
    writeFileSync(
      skipPlan,
      readFileSync(skipPlan, 'utf8').replace(
        'namespace: widget-system\n',
        'namespace: widget-system\n      crds: skip\n',
      ),
    );
    const skipDiff = await cli('diff', skipPlan, '--chart-version', chart, '--operator-version', '1.3.0');
    expect(skipDiff.stdout).toContain(
      `# crds: skip: ${crdName} in the chart's crds/ differ from the cluster's and are left as they are`,
    );
    expect(skipDiff.stdout).not.toContain(`--- CustomResourceDefinition`);
    const s5 = await startAndFinish(skipPlan, 'e2e-widgets-skip', chart, '1.3.0');
    expect(s5.state, JSON.stringify(s5.clusters)).toBe('succeeded');
    expect((s5 as { warnings?: string[] }).warnings).toEqual([
      `operator widget-operator 1.3.0: crds: skip: its CRDs in crds/ (${crdName}) differ from those of lab-3 and are left as they are`,
    ]);
    expect((await operator()).pop()).toMatchObject({ chartVersion: '1.3.0', status: 'deployed' });
    expect((await liveCrd()).spec.versions.map((v) => v.name)).toEqual(['v1', 'v2']);
  });
});

describe('charts from private registries, rolled on the lab', { timeout: 400_000 }, () => {
  const login = { username: 'robot', password: `pw-${randomUUID()}` };
  const basic = Buffer.from(`${login.username}:${login.password}`).toString('base64');
  let ca: PrivateCa;
  let tls: Registry;
  let plain: Registry;
  let classic: ChartRepository;
  let workerLog = '';
  let temporal: Client;
  let connection: Connection;

  /** Packages a lab chart at `version` into `dir`; returns the archive. */
  async function packaged(
    chart: 'express' | 'express-operator',
    version: string,
    dir = mkdtempSync(join(tmpdir(), 'pkg-')),
  ) {
    await lab.publishChart(helm, dir, chart, version);
    return join(dir, `${chart}-${version}.tgz`);
  }

  beforeAll(async () => {
    ca = await privateCa();
    [tls, plain, classic] = await Promise.all([
      startRegistry({ login, tls: ca }),
      startRegistry({ login }),
      startChartRepository(login),
    ]);
    await pushChart(await packaged('express-operator', '1.3.0'), tls, { login, tls: ca });
    await packaged('express', '2.4.0', classic.dir);
    await classic.index();
    // The worker's settings, as whoever runs it declares them: passwords from a file and a variable.
    const dir = mkdtempSync(join(tmpdir(), 'worker-secrets-'));
    writeFileSync(join(dir, 'charts-password'), login.password, { mode: 0o600 });
    writeFileSync(
      join(dir, 'credentials.yaml'),
      stringifyYaml({
        chartRepositories: [
          {
            name: 'tls-registry',
            url: `oci://${tls.host}/charts`,
            username: 'robot',
            passwordFile: join(dir, 'charts-password'),
            caFile: ca.caFile,
          },
          {
            name: 'plain-registry',
            url: `oci://${plain.host}`,
            username: 'robot',
            passwordEnv: 'PLAIN_REGISTRY_PASSWORD',
            plainHttp: true,
          },
          {
            name: 'classic-repo',
            url: `${classic.url}/`,
            username: 'robot',
            passwordFile: join(dir, 'charts-password'),
          },
        ],
      }),
    );
    await stopWorker();
    worker = startWorker({
      env: {
        ROLLOUT_CREDENTIALS: join(dir, 'credentials.yaml'),
        PLAIN_REGISTRY_PASSWORD: login.password,
        ROLLOUT_LOG_LEVEL: 'DEBUG',
      },
      log: (text) => (workerLog = (workerLog + text).slice(-4_000_000)),
    });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    temporal = client(connection);
  }, 300_000);

  afterAll(async () => {
    await connection?.close();
    await Promise.all([tls?.stop(), plain?.stop(), classic?.stop()]);
  });

  /** The lab plan on lab-3 alone, with the operator and the chart from where `from` says. */
  function privatePlan(name: string, from: { operator: string; chart: { chart: string; repository?: string } }) {
    const plan = parseYaml(labPlanText) as {
      spec: {
        release: Record<'operator' | 'chart', { chart: string; repository?: string }>;
        clusters: { name: string }[];
        phases: unknown[];
      };
    };
    plan.spec.release.operator.chart = from.operator;
    delete plan.spec.release.operator.repository;
    plan.spec.release.chart.chart = from.chart.chart;
    if (from.chart.repository) plan.spec.release.chart.repository = from.chart.repository;
    else delete plan.spec.release.chart.repository;
    plan.spec.clusters = plan.spec.clusters.filter((c) => c.name === 'lab-3');
    plan.spec.phases = [{ name: 'canary', clusters: ['lab-3'], approval: 'auto', bake: '0s' }];
    const file = join(mkdtempSync(join(tmpdir(), 'private-plan-')), `${name}.yaml`);
    writeFileSync(file, stringifyYaml(plan));
    return file;
  }

  /** Every event of every workflow this file's worker ran, with payloads as text. */
  async function historiesText(): Promise<string> {
    const texts: string[] = [];
    for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${env?.['ROLLOUT_TASK_QUEUE']}'` })) {
      const h = await temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      // Payloads come as base64 (`data`) or bytes: searched as the text they hold, and as they are.
      texts.push(
        JSON.stringify(h, (k, v: unknown) =>
          v instanceof Uint8Array
            ? Buffer.from(v).toString('utf8')
            : k === 'data' && typeof v === 'string'
              ? `${v} ${Buffer.from(v, 'base64').toString('utf8')}`
              : v,
        ),
      );
    }
    return texts.join('\n');
  }

  it('diffs and rolls an operator from an OCI registry over TLS with a private CA and a chart from a classic repository behind basic auth, then a version pushed mid-test to a plain-HTTP registry; no password in any history, status, log or release', async () => {
    const operator = `oci://${tls.host}/charts/express-operator`;
    const first = privatePlan('private-1', { operator, chart: { chart: 'express', repository: classic.url } });
    const diff = await cli('diff', first, '--chart-version', '2.4.0', '--operator-version', '1.3.0');
    expect(diff.code, diff.stderr + diff.stdout).toBe(0);
    // Both releases rendered from their registries, as lab-3 would see them.
    expect(diff.stdout).toMatch(/^== operator: lab-3: .*changed/m);
    expect(diff.stdout).toMatch(/^== chart: lab-3: .*changed/m);
    expect(diff.stdout).toContain('+    helm.sh/chart: express-2.4.0');
    expect(diff.stdout).toContain('image: registry.example/express-operator:1.3.0');

    const s1 = await startAndFinish(first, 'e2e-private-1', '2.4.0', '1.3.0');
    expect(s1.state, JSON.stringify(s1.clusters)).toBe('succeeded');
    expect(await current('lab-3', 'express-operator')).toMatchObject({ chartVersion: '1.3.0', status: 'deployed' });
    expect(await current('lab-3')).toMatchObject({ chartVersion: '2.4.0', status: 'deployed' });

    // Published while the worker runs, to a registry it has not pulled from yet: no step on the worker.
    await pushChart(await packaged('express', '2.5.0'), plain, { login });
    const second = privatePlan('private-2', { operator, chart: { chart: `oci://${plain.host}/charts/express` } });
    const s2 = await startAndFinish(second, 'e2e-private-2', '2.5.0', '1.3.0');
    expect(s2.state, JSON.stringify(s2.clusters)).toBe('succeeded');
    expect(await current('lab-3')).toMatchObject({ chartVersion: '2.5.0', status: 'deployed' });

    // Where a password could leak to: Temporal's histories, what status says, the worker's log (at debug),
    // and what Helm keeps of each release.
    const releases = ['express', 'express-operator'].map((r) =>
      execFileSync(
        helm,
        [
          'get',
          'all',
          r,
          '-n',
          r === 'express' ? 'express' : 'express-system',
          '--kube-context',
          'kwok-lab-3',
          '--kubeconfig',
          kubeconfig,
        ],
        { encoding: 'utf8' },
      ),
    );
    const places: Record<string, string> = {
      histories: await historiesText(),
      status:
        (await cli('status', 'e2e-private-1', '-o', 'json')).stdout +
        (await cli('status', 'e2e-private-2', '-o', 'json')).stdout,
      'worker log': workerLog,
      releases: releases.join('\n'),
    };
    // The search reads payloads: the plan's chart reference is there, in the clear.
    expect(places['histories']?.includes(`oci://${plain.host}/charts/express`)).toBe(true);
    for (const [where, text] of Object.entries(places)) {
      expect(text.includes(login.password), `the password in ${where}`).toBe(false);
      expect(text.includes(basic), `user:password in base64 in ${where}`).toBe(false);
    }
  });

  it('a registry that does not answer: preflight waits for it, and start and status say so', async () => {
    const nowhere = `oci://127.0.0.1:${await freePort()}/charts/express`;
    const plan = privatePlan('private-down', {
      operator: `oci://${tls.host}/charts/express-operator`,
      chart: { chart: nowhere },
    });
    const started = await cli(
      'start',
      plan,
      '--id',
      'e2e-private-down',
      '--chart-version',
      '2.5.0',
      '--operator-version',
      '1.3.0',
      '--wait',
      '2',
    );
    expect(started.code).toBe(1);
    expect(started.stderr).toContain('created e2e-private-down, but it did not hold its clusters within 2s');
    // Heartbeats reach Temporal throttled: the first report of the outage can take a few seconds more.
    const s = await statusUntil('e2e-private-down', (x) => (x as { waiting?: string }).waiting !== undefined, 60_000);
    expect(s.state).toBe('starting');
    expect((s as { waiting?: string }).waiting).toMatch(
      new RegExp(
        `^its preflight waits for the chart repository of ${nowhere}, unreachable since \\S+ \\(\\d+ attempts\\): .*connection refused`,
      ),
    );
    const text = await cli('status', 'e2e-private-down');
    expect(text.stdout).toContain(`waiting: its preflight waits for the chart repository of ${nowhere}`);
    await temporal.workflow.getHandle('e2e-private-down').terminate('e2e: the registry never comes');
  });
});

describe("the worker with the access chart's rights only", { timeout: 400_000 }, () => {
  const accessChart = join(root, 'deploy/charts/phased-rollout-access');
  const accessValues = join(root, 'lab/access-values.yaml');
  const on = ['lab-1', 'lab-2'];
  let saKubeconfig = '';
  let temporal: Client;
  let connection: Connection;

  function admin(cluster: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    kc.setCurrentContext(`kwok-${cluster}`);
    return kc;
  }

  /** The access chart on a cluster, as a platform team installs it: real Helm, the lab's values. */
  function installAccess(cluster: string): void {
    execFileSync(helm, [
      'upgrade',
      '--install',
      'rollout-access',
      accessChart,
      '-f',
      accessValues,
      '-n',
      'phased-rollout',
      '--create-namespace',
      '--kube-context',
      `kwok-${cluster}`,
      '--kubeconfig',
      kubeconfig,
    ]);
  }

  /** A kubeconfig whose contexts are the plan's, each with a token of the chart's ServiceAccount (TokenRequest). */
  async function serviceAccountKubeconfig(): Promise<string> {
    const clustersOf = new KubeConfig();
    clustersOf.loadFromFile(kubeconfig);
    const entries = await Promise.all(
      on.map(async (cluster) => {
        const kc = admin(cluster);
        const { status } = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
          name: 'phased-rollout',
          namespace: 'phased-rollout',
          body: { spec: { audiences: [], expirationSeconds: 3600 } },
        });
        return { cluster, context: `kwok-${cluster}`, server: kc.getCurrentCluster(), token: status?.token ?? '' };
      }),
    );
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: entries.map((e) => ({ ...(e.server as NonNullable<typeof e.server>), name: `cluster-${e.cluster}` })),
      users: entries.map((e) => ({ name: `phased-rollout@${e.cluster}`, token: e.token })),
      contexts: entries.map((e) => ({
        name: e.context,
        cluster: `cluster-${e.cluster}`,
        user: `phased-rollout@${e.cluster}`,
      })),
      currentContext: entries[0]?.context ?? '',
    });
    const file = join(mkdtempSync(join(tmpdir(), 'sa-kubeconfig-')), 'config');
    writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
    return file;
  }

  /** Takes `verb` away from the rule of the access chart's Role in `namespace` that grants it on `resource`. */
  async function revoke(cluster: string, namespace: string, role: string, resource: string, verb: string) {
    const rbac = admin(cluster).makeApiClient(RbacAuthorizationV1Api);
    const r = await rbac.readNamespacedRole({ name: role, namespace });
    for (const rule of r.rules ?? []) {
      if (rule.resources?.includes(resource)) rule.verbs = rule.verbs.filter((v) => v !== verb);
    }
    await rbac.replaceNamespacedRole({ name: role, namespace, body: r });
  }

  beforeAll(async () => {
    for (const c of on) installAccess(c);
    saKubeconfig = await serviceAccountKubeconfig();
    await stopWorker();
    worker = startWorker({ env: { KUBECONFIG: saKubeconfig } });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    temporal = client(connection);
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    // Every right back as the chart grants it, for whatever runs on the lab next.
    for (const c of on) installAccess(c);
  });

  it('holds no right beyond the chart: the token cannot read Secrets elsewhere, nor touch another namespace', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(saKubeconfig);
    kc.setCurrentContext('kwok-lab-1');
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.listNamespacedSecret({ namespace: 'kube-system' })).rejects.toMatchObject({ code: 403 });
    await expect(kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: 'default' })).rejects.toMatchObject({
      code: 403,
    });
    await expect(core.listNamespace()).rejects.toMatchObject({ code: 403 });
    // The cache's ConfigMap by name (not there until a synchronizer ran: 404, not 403), no other ConfigMap.
    await expect(core.listNamespacedConfigMap({ namespace: 'express' })).rejects.toMatchObject({ code: 403 });
    await expect(core.readNamespacedConfigMap({ name: 'other', namespace: 'express' })).rejects.toMatchObject({
      code: 403,
    });
    const cache = await core
      .readNamespacedConfigMap({ name: 'express-cache', namespace: 'express' })
      .then(() => 200)
      .catch((e: { code?: number }) => e.code);
    expect([200, 404]).toContain(cache);
  });

  it("installs the worker chart on a lab cluster, the target clusters' kubeconfig in a Secret: available, with a PDB and no API token", async () => {
    // kwok simulates the pods: this proves what the API server accepts and the controllers do with the
    // chart, not that the image runs (the worker itself runs here as a process, with the same kubeconfig).
    const core = kube('lab-3').core;
    await core.createNamespace({ body: { metadata: { name: 'rollout-system' } } });
    await core.createNamespacedSecret({
      namespace: 'rollout-system',
      body: { metadata: { name: 'target-clusters' }, stringData: { config: readFileSync(saKubeconfig, 'utf8') } },
    });
    execFileSync(helm, [
      'install',
      'rollout',
      join(root, 'deploy/charts/phased-rollout-worker'),
      '-n',
      'rollout-system',
      '--set',
      'kubeconfig.secretName=target-clusters',
      '--wait',
      '--timeout',
      '90s',
      '--kube-context',
      'kwok-lab-3',
      '--kubeconfig',
      kubeconfig,
    ]);
    const name = 'rollout-phased-rollout-worker';
    const d = await kube('lab-3').apps.readNamespacedDeployment({ name, namespace: 'rollout-system' });
    expect(d.status?.availableReplicas).toBe(2);
    expect(d.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    const pdb = await kube('lab-3').policy.readNamespacedPodDisruptionBudget({ name, namespace: 'rollout-system' });
    expect(pdb.status?.disruptionsAllowed).toBe(1);
    const pods = await core.listNamespacedPod({ namespace: 'rollout-system' });
    expect(pods.items.length).toBe(2);
    for (const p of pods.items) {
      expect(
        p.spec?.volumes?.some((v) => v.projected),
        'no service account token volume',
      ).toBe(false);
    }
  });

  it('rolls operator, synchronizer, cache, chart and verification with those rights, diffs and reads the fleet; a failed version rolls back', async () => {
    const plan = canaryAndWave();
    const before = await Promise.all(on.map((c) => current(c)));
    const [chart, operator] = [await versionNoneRuns('express', on), await versionNoneRuns('express-operator', on)];
    const diff = await cli('diff', plan, '--chart-version', chart, '--operator-version', operator);
    expect(diff.code, diff.stderr + diff.stdout).toBe(0);
    expect(diff.stdout).toMatch(/^== chart: .*changed/m);

    const up = await startAndFinish(plan, 'e2e-access-up', chart, operator);
    expect(up.state, JSON.stringify(up.clusters)).toBe('succeeded');
    for (const [i, c] of on.entries()) {
      expect(await current(c)).toMatchObject({ chartVersion: chart, status: 'deployed' });
      expect(await current(c, 'express-operator')).toMatchObject({ chartVersion: operator, status: 'deployed' });
      expect(await cacheVersion(c)).toBe(chart);
      expect(await synchronizerJobs(c), 'the Job went once the cache was ready').toEqual([]);
      expect((await current(c))?.revision).toBeGreaterThan(before[i]?.revision ?? 0);
    }
    const fleet = await cli('fleet', plan);
    expect(fleet.stdout).toMatch(new RegExp(`lab-1 .*${chart.replaceAll('.', '\\.')} .*deployed by e2e-access-up`));

    // A version that never becomes ready, on the canary: the worker rolls both releases back itself.
    const otherOperator = await versionNoneRuns('express-operator', on);
    const down = await startAndFinish(plan, 'e2e-access-down', '2.9.0', otherOperator);
    expect(down.state, JSON.stringify(down.clusters)).toBe('rolled-back');
    expect(await current('lab-1')).toMatchObject({ chartVersion: chart, status: 'deployed' });
    expect(await current('lab-1', 'express-operator')).toMatchObject({ chartVersion: operator, status: 'deployed' });
    expect((await current('lab-2'))?.chartVersion, 'the wave never started').toBe(chart);
  });

  it('with one verb taken from its Role, the step that needs it fails at once naming verb and resource, is not retried, and nothing after it runs', async () => {
    // Creating Jobs in express: the synchronizer's Role grants it, and the release's (for the chart's hook).
    for (const role of ['rollout-access-synchronizer', 'rollout-access-release']) {
      await revoke('lab-1', 'express', role, 'jobs', 'create');
    }
    const operatorBefore = await current('lab-1', 'express-operator');
    const chartBefore = await current('lab-1');
    const s = await startAndFinish(
      canaryAndWave(),
      'e2e-access-no-create',
      await versionNoneRuns('express', ['lab-1']),
      await versionNoneRuns('express-operator', ['lab-1']),
    );
    const canary = s.clusters.find((c) => c.name === 'lab-1');
    expect(canary, JSON.stringify(s)).toMatchObject({ state: 'rolled-back', failedStep: 'run-synchronizer' });
    expect(canary?.error).toMatch(
      /403 jobs.batch is forbidden: User "system:serviceaccount:phased-rollout:phased-rollout" cannot create resource "jobs" in API group "batch" in the namespace "express"/,
    );
    // Once: Temporal records the attempt an activity ended on.
    const started = (await temporal.workflow.getHandle(canary?.workflowId ?? '').fetchHistory()).events?.filter(
      (e) => e.activityTaskStartedEventAttributes,
    );
    const attempts = started?.map((e) => e.activityTaskStartedEventAttributes?.attempt);
    expect(
      attempts?.every((a) => a === 1),
      `attempts ${JSON.stringify(attempts)}`,
    ).toBe(true);
    expect(await current('lab-1'), 'the chart step never ran').toEqual(chartBefore);
    expect(await current('lab-1', 'express-operator')).toMatchObject({
      chartVersion: operatorBefore?.chartVersion,
      status: 'deployed',
    });
    installAccess('lab-1');
  });

  it('a rollback refused a right (deleting the StatefulSet pod stuck on the bad version) waits for a decision; with the right back, retry finishes it', async () => {
    await revoke('lab-1', 'express', 'rollout-access-release', 'pods', 'delete');
    const before = await current('lab-1');
    const id = 'e2e-access-no-delete';
    const started = await cli('start', canaryAndWave(), '--id', id, '--chart-version', '2.9.0');
    expect(started.code, started.stderr).toBe(0);
    const stuck = await statusUntil(id, (x) => x.state === 'awaiting-decision');
    const canary = stuck.clusters.find((c) => c.name === 'lab-1');
    expect(canary?.state).toBe('rollback-failed');
    expect(canary?.rollbackError).toMatch(
      /403 pods "farmer-0" is forbidden: User "system:serviceaccount:phased-rollout:phased-rollout" cannot delete resource "pods" in API group "" in the namespace "express"/,
    );
    installAccess('lab-1');
    expect((await cli('retry', id, '--cluster', 'lab-1')).code).toBe(0);
    const end = await statusUntil(id, (x) => ['rolled-back', 'failed', 'succeeded', 'aborted'].includes(x.state));
    expect(end.state, JSON.stringify(end.clusters)).toBe('rolled-back');
    expect(await current('lab-1')).toMatchObject({ chartVersion: before?.chartVersion, status: 'deployed' });
    const farmer = await kube('lab-1').apps.readNamespacedStatefulSet({ name: 'farmer', namespace: 'express' });
    expect(farmer.status?.readyReplicas, 'the stuck pod was replaced from the restored template').toBe(
      farmer.spec?.replicas,
    );
  });
});

describe(
  'on a production Temporal: the server built from Go modules, on PostgreSQL, with mTLS',
  { timeout: 600_000 },
  () => {
    let prod: ProductionServer;
    let prodEnv: Record<string, string>;
    const workers: ChildProcess[] = [];
    const prodCli = (...args: string[]) => rolloutCli(args, prodEnv);

    function prodWorker(): ChildProcess {
      const w = startWorker({ env: prodEnv });
      workers.push(w);
      return w;
    }

    beforeAll(async () => {
      prod = await startProductionServer({ log: () => undefined });
      prodEnv = { ...env, ...prod.env, ROLLOUT_TASK_QUEUE: `prod-${randomUUID()}` };
      await stopWorker();
    }, 600_000);

    afterAll(async () => {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
      await prod?.stop();
    });

    it('refuses a client without a certificate; a start before setup names `rollout setup`; setup registers the attributes once', async () => {
      const noCert = await rolloutCli(['list'], { ...prodEnv, TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' });
      expect(noCert.code).not.toBe(0);
      expect(noCert.stderr).toContain(
        'the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY',
      );

      const early = await prodCli('start', canaryAndWave(), '--id', 'prod-early', '--wait', '1');
      expect(early.code, early.stderr).not.toBe(0);
      expect(early.stderr).toMatch(/run rollout setup once for the namespace, then start again/);
      const setup = await prodCli('setup');
      expect(setup.code, setup.stderr).toBe(0);
      expect(setup.stdout).toMatch(
        /^namespace default: registered RolloutPlan \(Keyword\), .*RolloutVersions \(KeywordList\).*$/m,
      );
      const again = await prodCli('setup');
      expect(again.stdout).toMatch(/^namespace default: nothing to do$/m);
    });

    it('rolls the lab with two workers: the one running it is killed mid-step and the database restarted, the other finishes', async () => {
      const chart = await versionNoneRuns('express', ['lab-1', 'lab-2']);
      const first = prodWorker();
      const id = 'prod-two-workers';
      const started = await prodCli('start', canaryAndWave(), '--id', id, '--chart-version', chart);
      expect(started.code, started.stderr).toBe(0);
      // The canary in a step on the only worker there is: that worker goes, the other takes over.
      const running = async () => {
        for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
          const s = JSON.parse((await prodCli('status', id, '-o', 'json')).stdout) as RolloutStatus;
          if (s.clusters.some((c) => c.state === 'running')) return s;
          await new Promise((r) => setTimeout(r, 500));
        }
        throw new Error('the canary never started');
      };
      await running();
      prodWorker();
      first.kill('SIGKILL');
      await prod.restartDatabase();
      const deadline = Date.now() + 300_000;
      let s: RolloutStatus;
      for (;;) {
        s = JSON.parse((await prodCli('status', id, '-o', 'json')).stdout) as RolloutStatus;
        if (['succeeded', 'failed', 'rolled-back', 'aborted'].includes(s.state) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(s.state, JSON.stringify(s.clusters)).toBe('succeeded');
      for (const c of ['lab-1', 'lab-2']) {
        expect(await current(c)).toMatchObject({ chartVersion: chart, status: 'deployed' });
        // One upgrade each: no second revision from the takeover.
        const revisions = (await history(c)).filter((r) => r.description === `phased-rollout: ${id} (chart ${chart})`);
        expect(revisions.length, c).toBe(1);
      }
    });
  },
);

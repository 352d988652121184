/**
 * End to end through a real Argo CD (built from Go modules, with Debian's redis-server) on a lab of two
 * kwok clusters and Argo CD's own control cluster: the express component of the lab-argocd plan is moved
 * by pinning and syncing each cluster's Application, with auto-sync and self-heal on. Assertions read
 * the Applications' status, Argo CD's history, and what the clusters run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { HelmClient } from '../../src/adapters/helm.js';
import { freePort } from '../../src/tools/dev-server.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import { endRunningRollouts } from '../helpers/end-rollouts.js';
import { rolloutCli, type CliRun } from '../helpers/cli.js';
import type * as LabApi from '../../lab/lab.js';
import type { Application } from '../../src/drivers/argocd/application.js';

const root = new URL('../../', import.meta.url).pathname;
let lab: typeof LabApi;
let kubeconfig = '';
let helm = '';
let env: Record<string, string> = {};
let worker: ChildProcess | undefined;
let worktree = '';
let controllerPid = 0;
const planDir = mkdtempSync(join(tmpdir(), 'argocd-plans-'));

function startWorker(extra: Record<string, string> = {}): ChildProcess {
  const tsx = import.meta.resolve('tsx');
  return spawn(process.execPath, ['--import', tsx, join(root, 'src/worker/main.ts')], {
    cwd: root,
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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

function argo(): CustomObjectsApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('kwok-argocd');
  return kc.makeApiClient(CustomObjectsApi);
}

const app = async (cluster: string): Promise<Application> =>
  (await argo().getNamespacedCustomObject({
    group: 'argoproj.io',
    version: 'v1alpha1',
    namespace: 'argocd',
    plural: 'applications',
    name: `${cluster}-express`,
  })) as Application;

const patchApp = (cluster: string, body: object) =>
  argo().patchNamespacedCustomObject(
    {
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: 'argocd',
      plural: 'applications',
      name: `${cluster}-express`,
      body,
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

async function images(cluster: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(`kwok-${cluster}`);
  const list = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: 'express' });
  return list.items.map((d) => d.spec?.template.spec?.containers[0]?.image ?? '').sort();
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
      error?: string;
      rollbackError?: string;
      waitingFor?: string;
    }[];
  };
}

async function until<T>(what: string, read: () => Promise<T>, pred: (v: T) => boolean, ms = 240_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (pred(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} never held: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const ended = (id: string) =>
  until(
    `rollout ${id} ended`,
    () => statusJson(id),
    (s) => ['succeeded', 'failed', 'rolled-back', 'aborted'].includes(s.state),
  );

/** The lab-argocd plan from the lab's config repository, its gates automatic and its waits short. */
function plan(edit: (p: { spec: Record<string, unknown> }) => void = () => undefined): string {
  const p = parseYaml(readFileSync(join(worktree, 'rollout-plans', 'lab-argocd.yaml'), 'utf8')) as {
    spec: Record<string, unknown> & { phases: { approval: string; bake?: string }[]; verify: { timeout: string } };
  };
  for (const phase of p.spec.phases) {
    phase.approval = 'auto';
    phase.bake = '0s';
  }
  p.spec.verify.timeout = '30s';
  const components = (p.spec['release'] as { components: Record<string, unknown>[] }).components;
  const express = components.find((c) => c['name'] === 'express') as Record<string, unknown>;
  express['timeout'] = '90s';
  (express['argocd'] as Record<string, unknown>)['healthyGrace'] = '3s';
  edit(p);
  const file = join(planDir, `argocd-${randomUUID().slice(0, 6)}.yaml`);
  writeFileSync(file, stringifyYaml(p));
  return file;
}

/** The application controller's log lines about one Application: what a failed assertion shows. */
function controllerLog(app: string): string {
  try {
    const log = readFileSync(join(process.env['LAB_DIR'] ?? '', 'argocd', 'application-controller.log'), 'utf8');
    return log
      .split('\n')
      .filter((l) => l.includes(app) && /operation|sync|Sync/.test(l))
      .slice(-40)
      .join('\n');
  } catch (err) {
    return `(no controller log: ${(err as Error).message})`;
  }
}

/** Argo CD's history entries made by the rollout (initiated by phased-rollout). */
const ours = (a: Application, id?: string) =>
  (a.status?.history ?? []).filter((h) =>
    id ? h.initiatedBy?.username === `phased-rollout ${id}` : h.initiatedBy?.username?.startsWith('phased-rollout '),
  );

const head = () => execFileSync('git', ['-C', worktree, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

beforeAll(async () => {
  process.env['LAB_DIR'] = mkdtempSync(join(tmpdir(), 'lab-argocd-'));
  for (const v of [
    'LAB_REPO_PORT',
    'LAB_GIT_PORT',
    'LAB_METRICS_PORT',
    'LAB_ARGOCD_REDIS_PORT',
    'LAB_ARGOCD_REPO_PORT',
    'LAB_ARGOCD_REPO_METRICS_PORT',
    'LAB_ARGOCD_METRICS_PORT',
    'LAB_ARGOCD_APPSET_METRICS_PORT',
    'LAB_ARGOCD_APPSET_PROBE_PORT',
    'LAB_ARGOCD_APPSET_WEBHOOK_PORT',
  ]) {
    process.env[v] = String(await freePort());
  }
  lab = await import('../../lab/lab.js');
  const state = await lab.labUp(2, () => undefined, { argocd: true });
  kubeconfig = state.kubeconfig;
  worktree = state.git?.worktree ?? '';
  controllerPid = state.argocd?.pids[2] ?? 0;
  helm = await ensureTool('helm');
  env = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    ROLLOUT_TASK_QUEUE: `e2e-argocd-${randomUUID()}`,
    KUBECONFIG: kubeconfig,
    ROLLOUT_HELM: helm,
    ROLLOUT_USER: 'e2e',
    ROLLOUT_LOG_LEVEL: 'ERROR',
  };
  worker = startWorker();
}, 900_000);

async function endRunning(reason: string): Promise<void> {
  if (!env['ROLLOUT_TASK_QUEUE']) return;
  await endRunningRollouts(inject('temporalAddress'), env['ROLLOUT_TASK_QUEUE'] ?? '', reason);
}

afterEach(async (ctx) => {
  if (controllerPid) process.kill(controllerPid, 'SIGCONT');
  if (ctx.task.result?.state === 'fail') await endRunning(`e2e test failed: ${ctx.task.name}`);
});

afterAll(async () => {
  await endRunning('e2e test file finished');
  await stopWorker();
  await lab?.labDown(() => undefined);
});

describe('rolling through Argo CD Applications', { timeout: 600_000 }, () => {
  it('pins each Application to the chart version and the commit and syncs it with auto-sync on; the diff and the fleet read it; Helm is never run on the clusters', async () => {
    const before = await new HelmClient(helm, kubeconfig).history('kwok-lab-1', 'express', 'express');
    const started = await cli('start', plan(), '--id', 'argo-up', '--set', 'express=2.1.0');
    expect(started.code, started.stderr).toBe(0);
    const s = await ended('argo-up');
    expect(s.state, JSON.stringify(s)).toBe('succeeded');
    const commit = head();
    for (const cluster of ['lab-1', 'lab-2']) {
      const a = await app(cluster);
      expect(a.spec?.sources?.map((x) => x.targetRevision)).toEqual(['2.1.0', commit]);
      expect(a.spec?.sources?.[0]?.helm?.valueFiles).toEqual([
        '$values/overlays/base.yaml',
        `$values/overlays/lab/${cluster}/values.yaml`,
      ]);
      expect(a.status?.sync).toMatchObject({ status: 'Synced', revisions: ['2.1.0', commit] });
      expect(a.status?.health?.status).toBe('Healthy');
      expect(ours(a, 'argo-up').map((h) => h.revisions)).toEqual([['2.1.0', commit]]);
      expect(a.status?.history?.at(-1)?.initiatedBy?.username).toBe('phased-rollout argo-up');
      expect(await images(cluster)).toEqual(['registry.example/express:2.1.0', 'registry.example/express:2.1.0']);
    }
    // Argo CD applied it: the Helm release the lab installed first has no new revision.
    expect(await new HelmClient(helm, kubeconfig).history('kwok-lab-1', 'express', 'express')).toHaveLength(
      before.length,
    );

    const fleet = await cli('fleet', plan(), '-o', 'json');
    expect(fleet.code, fleet.stderr).toBe(0);
    const rows = (
      JSON.parse(fleet.stdout) as {
        rows: {
          cluster: string;
          verdict: string;
          releases: Record<string, { version?: string; status?: string; changedBy?: string }>;
        }[];
      }
    ).rows;
    for (const row of rows) {
      expect(row.releases['express']).toMatchObject({
        version: '2.1.0',
        status: 'Synced/Healthy',
        changedBy: 'argo-up',
      });
    }
    const diff = await cli('diff', plan(), '--set', 'express=2.2.0', '--cluster', 'lab-2');
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/^== express: lab-2: .*Deployment changed/m);
    expect(diff.stdout).toMatch(/^-\s+image: registry\.example\/express:2\.1\.0$/m);
    expect(diff.stdout).toMatch(/^\+\s+image: registry\.example\/express:2\.2\.0$/m);
  });

  it('waits for a sync someone else started, then syncs its own; a worker killed while its sync is queued leaves one sync, not two', async () => {
    // Argo CD busy: the controller stopped, a person's sync of lab-1 queued on the Application.
    process.kill(controllerPid, 'SIGSTOP');
    const a1 = await app('lab-1');
    await patchApp('lab-1', {
      operation: { initiatedBy: { username: 'alice' }, sync: { revisions: a1.status?.sync?.revisions } },
    });
    const started = await cli('start', plan(), '--id', 'argo-busy', '--set', 'express=2.2.0');
    expect(started.code, started.stderr).toBe(0);
    await until(
      'the rollout reaches the Application',
      () => statusJson('argo-busy'),
      (st) => st.clusters.some((c) => c.name === 'lab-1' && c.step === 'upgrade-express'),
    );
    // `rollout status` says what it waits on, in Argo CD's words.
    await until(
      'status says what the cluster waits on',
      () => statusJson('argo-busy'),
      (st) =>
        /^Argo CD: waits for alice's operation on Application argocd\/lab-1-express on kwok-argocd to end \(sync /.test(
          st.clusters.find((c) => c.name === 'lab-1')?.waitingFor ?? '',
        ),
      60_000,
    );
    // It waits: alice's sync still queued, the sources not touched while it is.
    const waiting = await app('lab-1');
    expect(waiting.operation?.initiatedBy?.username).toBe('alice');
    expect(waiting.spec?.sources?.[0]?.targetRevision).toBe(a1.spec?.sources?.[0]?.targetRevision);
    // Argo CD runs alice's sync; the rollout's own comes after it. Kill the worker once it is queued.
    // Who each operation seen on the Application belongs to, in order (alice's runs for seconds: its
    // PreSync hook takes 5 s).
    const seen: string[] = [];
    process.kill(controllerPid, 'SIGCONT');
    await until(
      'the rollout queues its sync',
      () => app('lab-1'),
      (a) => {
        const op = a.operation ?? a.status?.operationState?.operation;
        const mine = (op?.info ?? []).some(
          (i) => i.name === 'phased-rollout.io/change' && i.value?.startsWith('argo-busy/'),
        );
        const who = mine ? 'rollout' : (op?.initiatedBy?.username ?? '');
        if (who && seen.at(-1) !== who) seen.push(who);
        return mine;
      },
      60_000,
    );
    await stopWorker('SIGKILL');
    worker = startWorker();
    const s = await ended('argo-busy');
    expect(s.state, JSON.stringify(s)).toBe('succeeded');
    // alice's operation ran before the rollout queued its own.
    expect(seen, controllerLog('lab-1-express')).toEqual(['alice', 'rollout']);
    const a = await app('lab-1');
    const history = a.status?.history ?? [];
    const by = history.map((h) => h.initiatedBy?.username);
    // Then exactly one sync of the rollout's, at 2.2.0, after alice's (Argo CD records a sync in its
    // history only when it succeeds: alice's is there unless Argo CD failed it).
    expect(by.at(-1), controllerLog('lab-1-express')).toBe('phased-rollout argo-busy');
    if (a.status?.history?.some((h) => h.initiatedBy?.username === 'alice')) {
      expect(by.slice(-2)).toEqual(['alice', 'phased-rollout argo-busy']);
    }
    expect(ours(a, 'argo-busy').map((h) => h.revisions?.[0])).toEqual(['2.2.0']);
    expect(await images('lab-1')).toEqual(['registry.example/express:2.2.0', 'registry.example/express:2.2.0']);
  });

  it("a sync Argo CD fails on the wave is reported with Argo CD's words and rolled back to the revisions recorded before", async () => {
    const beforeLab2 = await app('lab-2');
    const recorded = beforeLab2.status?.sync?.revisions;
    // lab-2's overlay asks for a negative replica count: it renders, and the API server refuses it.
    const bad = await lab.labCommit('lab-2: an invalid replica count', (tree) =>
      writeFileSync(
        join(tree, 'overlays', 'lab', 'lab-2', 'values.yaml'),
        'configChangeset: lab-2\nfrontend:\n  replicas: -1\n',
      ),
    );
    const started = await cli('start', plan(), '--id', 'argo-bad', '--set', 'express=2.3.0');
    expect(started.code, started.stderr).toBe(0);
    const s = await ended('argo-bad');
    expect(s.state, JSON.stringify(s)).toBe('rolled-back');
    const lab2 = s.clusters.find((c) => c.name === 'lab-2');
    expect(lab2?.error).toMatch(/Argo CD's sync of Application argocd\/lab-2-express on kwok-argocd (Failed|Error): /);
    expect(lab2?.error).toMatch(/replicas/);
    const a = await app('lab-2');
    expect(a.status?.sync).toMatchObject({ status: 'Synced', revisions: recorded });
    expect(a.spec?.sources?.map((x) => x.targetRevision)).toEqual(recorded);
    expect(a.status?.health?.status).toBe('Healthy');
    const was = `registry.example/express:${recorded?.[0] ?? ''}`;
    expect(await images('lab-2')).toEqual([was, was]);
    expect(bad).toBe(head());
    // The canary (rollbackScope phase) keeps the version it verified.
    expect((await app('lab-1')).status?.sync?.revisions?.[0]).toBe('2.3.0');
    await lab.labCommit('lab-2: back to its replica count', (tree) =>
      writeFileSync(
        join(tree, 'overlays', 'lab', 'lab-2', 'values.yaml'),
        'configChangeset: lab-2\nfrontend:\n  replicas: 2\n',
      ),
    );
  });

  it("a sync that makes no progress (a PreSync hook that never completes) is terminated at the step's timeout and rolled back", async () => {
    const recorded = (await app('lab-2')).status?.sync?.revisions;
    // lab-2's overlay makes the chart's migration hook (Argo CD's PreSync) run on forever.
    await lab.labCommit('lab-2: a migration that hangs', (tree) =>
      writeFileSync(
        join(tree, 'overlays', 'lab', 'lab-2', 'values.yaml'),
        'configChangeset: lab-2\nfrontend:\n  replicas: 2\nfaults:\n  migrationHangs: true\n',
      ),
    );
    const stuckPlan = plan((p) => {
      const components = (p.spec['release'] as { components: Record<string, unknown>[] }).components;
      (components.find((c) => c['name'] === 'express') as Record<string, unknown>)['timeout'] = '30s';
    });
    const started = await cli('start', stuckPlan, '--id', 'argo-stuck', '--set', 'express=2.3.0');
    expect(started.code, started.stderr).toBe(0);
    const s = await ended('argo-stuck');
    expect(s.state, JSON.stringify(s)).toBe('rolled-back');
    expect(s.clusters.find((c) => c.name === 'lab-2')?.error).toMatch(
      /^upgrade-express failed: Argo CD's sync of Application argocd\/lab-2-express on kwok-argocd made no progress within 30s \(.*express-migrate.*\); the rollout terminated it \(/,
    );
    // The terminated sync did not go on: the rollback's sync ran after it, at the revisions recorded before.
    const a = await app('lab-2');
    expect(a.status?.operationState?.phase).toBe('Succeeded');
    expect(a.status?.operationState?.operation?.initiatedBy?.username).toBe('phased-rollout argo-stuck');
    expect(a.status?.sync).toMatchObject({ status: 'Synced', revisions: recorded });
    expect(a.status?.health?.status).toBe('Healthy');
    const was = `registry.example/express:${recorded?.[0] ?? ''}`;
    expect(await images('lab-2')).toEqual([was, was]);
    await lab.labCommit('lab-2: its migration completes again', (tree) =>
      writeFileSync(
        join(tree, 'overlays', 'lab', 'lab-2', 'values.yaml'),
        'configChangeset: lab-2\nfrontend:\n  replicas: 2\n',
      ),
    );
  });

  it('refuses an Application not handed to the plan, and one whose ApplicationSet would revert it, naming why; nothing is synced', async () => {
    await patchApp('lab-1', { metadata: { annotations: { 'phased-rollout.io/plan': null } } });
    const before = (await app('lab-1')).status?.history?.length;
    const started = await cli('start', plan(), '--id', 'argo-unowned', '--set', 'express=2.1.0');
    expect(started.code, started.stderr).toBe(0);
    const s = await ended('argo-unowned');
    expect(s.clusters.find((c) => c.name === 'lab-1')?.error).toMatch(
      /Application argocd\/lab-1-express on kwok-argocd is not handed to plan lab-argocd: it has no phased-rollout.io\/plan annotation/,
    );
    expect((await app('lab-1')).status?.history?.length).toBe(before);
    expect((await app('lab-1')).spec?.sources?.[0]?.targetRevision).toBe('2.3.0');
    await patchApp('lab-1', { metadata: { annotations: { 'phased-rollout.io/plan': 'lab-argocd' } } });

    // Handed to the plan, then adopted by a real ApplicationSet (its controller runs in the lab) whose
    // template writes the sources as they are now: it would put them back on every reconcile.
    const current = await app('lab-1');
    const appsets = {
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: 'argocd',
      plural: 'applicationsets',
    };
    await argo().createNamespacedCustomObject({
      ...appsets,
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'ApplicationSet',
        metadata: { name: 'express' },
        spec: {
          generators: [{ list: { elements: [{ cluster: 'lab-1' }] } }],
          template: {
            metadata: { name: '{{cluster}}-express', annotations: { 'phased-rollout.io/plan': 'lab-argocd' } },
            spec: { ...current.spec },
          },
        },
      },
    });
    await until(
      'the ApplicationSet adopts lab-1-express',
      () => app('lab-1'),
      (a) => (a.metadata?.ownerReferences ?? []).some((o) => o.kind === 'ApplicationSet' && o.name === 'express'),
      120_000,
    );
    const owned = await cli('start', plan(), '--id', 'argo-owned', '--set', 'express=2.2.0');
    expect(owned.code, owned.stderr).toBe(0);
    const o = await ended('argo-owned');
    expect(o.clusters.find((c) => c.name === 'lab-1')?.error).toMatch(
      /Application argocd\/lab-1-express on kwok-argocd cannot be moved: it is owned by ApplicationSet express, which rewrites its spec.sources .*ignoreApplicationDifferences/,
    );
    expect((await app('lab-1')).status?.history?.length).toBe(before);

    // The ApplicationSet hands the sources to the rollout: the rollout moves lab-1, and the ApplicationSet
    // (reconciling on every change of the Application it owns) leaves them where the rollout put them.
    await argo().patchNamespacedCustomObject(
      {
        ...appsets,
        name: 'express',
        body: { spec: { ignoreApplicationDifferences: [{ jsonPointers: ['/spec/source', '/spec/sources'] }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const handed = await cli('start', plan(), '--id', 'argo-appset', '--set', 'express=2.2.0');
    expect(handed.code, handed.stderr).toBe(0);
    const h = await ended('argo-appset');
    expect(h.state, JSON.stringify(h)).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 10_000));
    const moved = await app('lab-1');
    expect(moved.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ApplicationSet', name: 'express' });
    expect(moved.spec?.sources?.map((x) => x.targetRevision)).toEqual(['2.2.0', head()]);
    expect(moved.status?.sync).toMatchObject({ status: 'Synced', revisions: ['2.2.0', head()] });
    expect(ours(moved, 'argo-appset')).toHaveLength(1);
    expect(await images('lab-1')).toEqual(['registry.example/express:2.2.0', 'registry.example/express:2.2.0']);
    // The fleet names the rollout from Argo CD's history (the ApplicationSet rewrites annotations); it
    // exits 1, as the plan's own version is 2.1.0.
    const fleet = await cli('fleet', plan(), '-o', 'json');
    expect(fleet.code, fleet.stderr).toBe(1);
    const row = (
      JSON.parse(fleet.stdout) as {
        rows: { cluster: string; releases: Record<string, { version?: string; changedBy?: string }> }[];
      }
    ).rows.find((r) => r.cluster === 'lab-1');
    expect(row?.releases['express']).toMatchObject({ version: '2.2.0', changedBy: 'argo-appset' });

    // The ApplicationSet goes; its Application stays (orphaned, as `kubectl delete --cascade=orphan`).
    await argo().deleteNamespacedCustomObject({ ...appsets, name: 'express', propagationPolicy: 'Orphan' });
    await until(
      'lab-1-express is orphaned',
      () => app('lab-1'),
      (a) => (a.metadata?.ownerReferences ?? []).length === 0,
      120_000,
    );
  });

  it("refuses an Application a self-healing parent (app of apps) would revert; moves it once the parent leaves its sources alone, and the parent's own sync keeps them", async () => {
    // lab-1's Application as a manifest in the config repository, and a parent Application syncing it.
    const child = await app('lab-1');
    const configRepo = child.spec?.sources?.find((x) => x.ref === 'values')?.repoURL ?? '';
    const commit = await lab.labCommit('apps: lab-1-express, managed by the apps Application', (tree) => {
      mkdirSync(join(tree, 'apps'), { recursive: true });
      writeFileSync(
        join(tree, 'apps', 'lab-1-express.yaml'),
        stringifyYaml({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: {
            name: 'lab-1-express',
            namespace: 'argocd',
            annotations: { 'phased-rollout.io/plan': 'lab-argocd' },
          },
          spec: child.spec,
        }),
      );
    });
    const apps = {
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: 'argocd',
      plural: 'applications',
    };
    await argo().createNamespacedCustomObject({
      ...apps,
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'apps' },
        spec: {
          project: 'default',
          source: { repoURL: configRepo, targetRevision: commit, path: 'apps' },
          destination: { name: 'argocd', namespace: 'argocd' },
          syncPolicy: { automated: { selfHeal: true } },
        },
      },
    });
    await until(
      'the apps Application manages lab-1-express',
      () => app('lab-1'),
      (a) => a.metadata?.annotations?.['argocd.argoproj.io/tracking-id']?.startsWith('apps:') ?? false,
      180_000,
    );
    const before = (await app('lab-1')).status?.history?.length;
    const refused = await cli('start', plan(), '--id', 'argo-parent', '--set', 'express=2.3.0');
    expect(refused.code, refused.stderr).toBe(0);
    const r = await ended('argo-parent');
    expect(r.clusters.find((c) => c.name === 'lab-1')?.error).toMatch(
      /Application argocd\/lab-1-express on kwok-argocd cannot be moved: it is managed by Application apps \(app of apps\) with self-heal on, which reverts its spec.sources/,
    );
    expect((await app('lab-1')).status?.history?.length).toBe(before);

    // The parent leaves the child's sources to the rollout, in its diff and in its sync.
    const parent = {
      ...apps,
      name: 'apps',
      body: {
        spec: {
          ignoreDifferences: [
            { group: 'argoproj.io', kind: 'Application', jsonPointers: ['/spec/source', '/spec/sources'] },
          ],
          syncPolicy: { automated: { selfHeal: true }, syncOptions: ['RespectIgnoreDifferences=true'] },
        },
      },
    };
    await argo().patchNamespacedCustomObject(parent, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const started = await cli('start', plan(), '--id', 'argo-child', '--set', 'express=2.3.0');
    expect(started.code, started.stderr).toBe(0);
    const s = await ended('argo-child');
    expect(s.state, JSON.stringify(s)).toBe('succeeded');
    // A sync of the parent by hand applies the child's manifest, but not the sources it ignores. Written
    // as Argo CD's API server writes `argocd app sync`: with the parent's own sync options.
    await argo().patchNamespacedCustomObject(
      {
        ...apps,
        name: 'apps',
        body: {
          operation: {
            initiatedBy: { username: 'e2e' },
            sync: { revision: commit, syncOptions: ['RespectIgnoreDifferences=true'] },
          },
          status: { operationState: null },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await until(
      "the parent's sync ends",
      async () => (await argo().getNamespacedCustomObject({ ...apps, name: 'apps' })) as Application,
      (p) => p.status?.operationState?.phase === 'Succeeded' && !p.operation,
      120_000,
    );
    const moved = await app('lab-1');
    expect(moved.spec?.sources?.map((x) => x.targetRevision)).toEqual(['2.3.0', head()]);
    expect(moved.status?.sync).toMatchObject({ status: 'Synced', revisions: ['2.3.0', head()] });
    expect(ours(moved, 'argo-child')).toHaveLength(1);
    // The parent goes (no finalizer: its children stay).
    await argo().deleteNamespacedCustomObject({ ...apps, name: 'apps' });
    expect((await app('lab-1')).metadata?.name).toBe('lab-1-express');
  });

  it('an Application changed by hand while the wave waits for approval voids the approval; approved again, the rollout pins it back', async () => {
    const gated = plan((p) => {
      (p.spec['phases'] as { approval: string }[])[1]!.approval = 'required';
    });
    const started = await cli('start', gated, '--id', 'argo-hand', '--set', 'express=2.1.0');
    expect(started.code, started.stderr).toBe(0);
    await until(
      'the wave waits for approval',
      () => statusJson('argo-hand'),
      (st) => st.state === 'awaiting-approval',
    );
    // Someone points lab-2's Application at another chart version by hand; auto-sync applies it.
    const a2 = await app('lab-2');
    const sources = a2.spec?.sources ?? [];
    await patchApp('lab-2', { spec: { sources: [{ ...sources[0], targetRevision: '2.0.0' }, ...sources.slice(1)] } });
    await until(
      'Argo CD applies the hand edit',
      () => app('lab-2'),
      (a) => a.status?.sync?.revisions?.[0] === '2.0.0' && a.status?.sync?.status === 'Synced',
    );
    const approved = await cli('approve', 'argo-hand', '--phase', 'wave', '-m', 'canary fine');
    expect(approved.code, approved.stderr).toBe(0);
    const voided = await until(
      'the approval no longer holds',
      () => statusJson('argo-hand'),
      (st) => /no longer holds/.test(st.reason ?? ''),
      90_000,
    );
    expect(voided.state).toBe('awaiting-approval');
    expect(voided.reason).toMatch(/^the diff changed since e2e approved it/);
    expect((await app('lab-2')).spec?.sources?.[0]?.targetRevision, 'the wave did not start').toBe('2.0.0');
    const again = await cli('approve', 'argo-hand', '--phase', 'wave', '-m', 'the hand edit on lab-2 goes');
    expect(again.code, again.stderr).toBe(0);
    const s = await ended('argo-hand');
    expect(s.state, JSON.stringify(s)).toBe('succeeded');
    const after = await app('lab-2');
    expect(after.spec?.sources?.map((x) => x.targetRevision)).toEqual(['2.1.0', head()]);
    expect(after.status?.sync).toMatchObject({ status: 'Synced', revisions: ['2.1.0', head()] });
    expect(ours(after, 'argo-hand')).toHaveLength(1);
  });

  it("moves the Applications with only the access chart's rights on Argo CD's control cluster", async () => {
    // The access chart on the control cluster, Argo CD's namespace named; nothing else granted there.
    execFileSync(helm, [
      'upgrade',
      '--install',
      'rollout-access',
      join(root, 'deploy/charts/phased-rollout-access'),
      '--set',
      'argocd.namespace=argocd',
      '-n',
      'phased-rollout',
      '--create-namespace',
      '--kube-context',
      'kwok-argocd',
      '--kubeconfig',
      kubeconfig,
    ]);
    const admin = new KubeConfig();
    admin.loadFromFile(kubeconfig);
    admin.setCurrentContext('kwok-argocd');
    const { status } = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: 'phased-rollout',
      namespace: 'phased-rollout',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    // The lab's kubeconfig, but the control cluster's context is the ServiceAccount's token.
    const limited = new KubeConfig();
    limited.loadFromOptions({
      clusters: admin.clusters,
      users: [...admin.users, { name: 'phased-rollout@argocd', token: status?.token ?? '' }],
      contexts: admin.contexts.map((c) => (c.name === 'kwok-argocd' ? { ...c, user: 'phased-rollout@argocd' } : c)),
      currentContext: 'kwok-argocd',
    });
    const file = join(mkdtempSync(join(tmpdir(), 'argocd-sa-')), 'config');
    writeFileSync(file, limited.exportConfig(), { mode: 0o600 });
    // The token reads Applications but no Secret of Argo CD's.
    const asWorker = new KubeConfig();
    asWorker.loadFromFile(file);
    await expect(asWorker.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'argocd' })).rejects.toMatchObject(
      { code: 403 },
    );
    await stopWorker();
    worker = startWorker({ KUBECONFIG: file });
    try {
      const started = await cli('start', plan(), '--id', 'argo-least', '--set', 'express=2.2.0');
      expect(started.code, started.stderr).toBe(0);
      const s = await ended('argo-least');
      expect(s.state, JSON.stringify(s)).toBe('succeeded');
      for (const cluster of ['lab-1', 'lab-2']) {
        const a = await app(cluster);
        expect(a.status?.sync).toMatchObject({ status: 'Synced', revisions: ['2.2.0', head()] });
        expect(ours(a, 'argo-least')).toHaveLength(1);
      }
    } finally {
      await stopWorker();
      worker = startWorker();
    }
  });
});

/**
 * The worker's probes, on a real `rollout-worker` process against the suite's Temporal dev server: ready
 * once it polls, draining (not ready) after SIGTERM, and a bad address stops it before it connects.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/tools/dev-server.js';
import { parseHealthAddress, startHealthServer } from '../../src/worker/health.js';
import { ensureTool } from '../../src/tools/toolchain.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify as stringifyYaml } from 'yaml';
import { startMetrics } from '../helpers/metrics.js';
import { rolloutCli } from '../helpers/cli.js';

const root = new URL('../../', import.meta.url).pathname;

function worker(env: Record<string, string>): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'src/worker/main.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), ROLLOUT_LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

async function probe(port: number, path: string): Promise<{ status: number; text: string } | undefined> {
  return fetch(`http://127.0.0.1:${port}${path}`).then(
    async (r) => ({ status: r.status, text: (await r.text()).trim() }),
    () => undefined,
  );
}

describe("the worker's liveness and readiness probes", { timeout: 120_000 }, () => {
  it('is live and ready once it polls, and no longer ready while it drains after SIGTERM', async () => {
    const port = await freePort();
    const w = worker({
      ROLLOUT_HEALTH_ADDRESS: `127.0.0.1:${port}`,
      ROLLOUT_TASK_QUEUE: `health-${randomUUID()}`,
      ROLLOUT_HELM: await ensureTool('helm'),
    });
    try {
      const deadline = Date.now() + 90_000;
      let ready = await probe(port, '/readyz');
      while (ready?.status !== 200 && Date.now() < deadline && w.child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 200));
        ready = await probe(port, '/readyz');
      }
      expect(ready, w.stderr()).toEqual({ status: 200, text: 'ok: polling, Temporal answers' });
      expect(await probe(port, '/livez')).toEqual({ status: 200, text: 'ok: worker RUNNING' });
      expect((await probe(port, '/metrics'))?.status).toBe(404);
      w.child.kill('SIGTERM');
      // From the signal on, a load balancer or a Deployment's rollout must not count on this replica.
      // Not ready: 503 while it drains, or no answer once it has stopped; never 200.
      // The signal reaches the worker a moment after kill() returns: wait for it, within a bound.
      let after = (await probe(port, '/readyz'))?.status ?? 'stopped';
      for (const until = Date.now() + 10_000; after === 200 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 20));
        after = (await probe(port, '/readyz'))?.status ?? 'stopped';
      }
      expect(after).not.toBe(200);
      expect(await w.exited).toBe(0);
      expect(await probe(port, '/livez'), 'the probe server stops with the worker').toBeUndefined();
    } finally {
      w.child.kill('SIGKILL');
    }
  });

  it('is not ready, saying why, while Temporal does not answer or the worker has not started polling', async () => {
    let state = 'RUNNING';
    let answers = false;
    const server = await startHealthServer('127.0.0.1:0', {
      state: () => state,
      temporalAnswers: () => (answers ? Promise.resolve() : Promise.reject(new Error('deadline exceeded'))),
      address: '127.0.0.1:7233',
    });
    try {
      expect(await probe(server.port, '/readyz')).toEqual({
        status: 503,
        text: 'not ready: Temporal at 127.0.0.1:7233 does not answer: deadline exceeded',
      });
      expect((await probe(server.port, '/livez'))?.status).toBe(200);
      answers = true;
      state = 'INITIALIZED';
      expect(await probe(server.port, '/readyz')).toEqual({ status: 503, text: 'not ready: worker INITIALIZED' });
      state = 'FAILED';
      expect(await probe(server.port, '/livez')).toEqual({ status: 503, text: 'worker FAILED' });
    } finally {
      await server.close();
    }
  });

  it('a bad ROLLOUT_HEALTH_ADDRESS stops the worker before it connects, naming the variable', async () => {
    expect(() => parseHealthAddress('8080')).toThrow('ROLLOUT_HEALTH_ADDRESS is "8080": set it to HOST:PORT');
    expect(parseHealthAddress(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseHealthAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    const w = worker({ ROLLOUT_HEALTH_ADDRESS: 'localhost' });
    expect(await w.exited).toBe(1);
    expect(w.stderr()).toContain('rollout-worker: ROLLOUT_HEALTH_ADDRESS is "localhost": set it to HOST:PORT');
  });
});

describe("the worker's metrics", { timeout: 120_000 }, () => {
  it("exports the SDK's metrics and the tool's at /metrics, which VictoriaMetrics scrapes", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'metrics-'));
    // A worker with no cluster at all: the rollout is refused by preflight, and its state still shows.
    writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      stringifyYaml({
        apiVersion: 'phased-rollout.dev/v1alpha1',
        kind: 'RolloutPlan',
        metadata: { name: 'metrics' },
        spec: {
          release: {
            operator: {
              chart: join(root, 'charts/express-operator'),
              version: '1.1.0',
              releaseName: 'op',
              namespace: 'op',
            },
            chart: { chart: join(root, 'charts/express'), version: '2.1.0', releaseName: 'app', namespace: 'app' },
          },
          clusters: [{ name: 'm1', context: 'kwok-nowhere' }],
          phases: [{ name: 'all', clusters: ['m1'], approval: 'auto' }],
        },
      }),
    );
    const taskQueue = `metrics-${randomUUID()}`;
    const w = worker({
      ROLLOUT_METRICS_ADDRESS: `127.0.0.1:${port}`,
      ROLLOUT_TASK_QUEUE: taskQueue,
      ROLLOUT_HELM: await ensureTool('helm'),
      KUBECONFIG: join(dir, 'kubeconfig'),
      ROLLOUT_LOG_LEVEL: 'WARN',
    });
    writeFileSync(
      join(dir, 'scrape.yaml'),
      stringifyYaml({
        scrape_configs: [
          { job_name: 'rollout-worker', scrape_interval: '1s', static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
        ],
      }),
    );
    const vm = await startMetrics([`-promscrape.config=${join(dir, 'scrape.yaml')}`]);
    try {
      const id = `metrics-${randomUUID().slice(0, 8)}`;
      const started = await rolloutCli(['start', plan, '--id', id], {
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        ROLLOUT_TASK_QUEUE: taskQueue,
      });
      expect(started.code, started.stderr).toBe(2);
      expect(started.stderr).toContain('kube context "kwok-nowhere" is not in the worker\'s kubeconfig');
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(
        new RegExp(`phased_rollout_rollout_state\\{[^}]*rollout="${id}"[^}]*state="failed"[^}]*\\} 1`),
      );
      expect(text).toMatch(
        new RegExp(`phased_rollout_rollout_state\\{[^}]*rollout="${id}"[^}]*state="starting"[^}]*\\} 0`),
      );
      expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
      // Scraped: the same series, queried from the metrics server.
      const query = `phased_rollout_rollout_state{rollout="${id}",state="failed"}`;
      const deadline = Date.now() + 30_000;
      let value: string | undefined;
      while (value !== '1' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        const res = await fetch(`${vm.address}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
        value = body.data?.result?.[0]?.value?.[1];
      }
      expect(value, `${query} in VictoriaMetrics`).toBe('1');
      // Not on a terminal, the worker logs JSON lines, each naming the rollout (and step) it is about.
      const lines = w
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; message: string; rollout?: string; step?: string; time: string });
      const about = lines.filter((l) => l.rollout === id);
      expect(about.length, w.stderr()).toBeGreaterThan(0);
      expect(about[0]).toMatchObject({ level: 'WARN', rollout: id });
      // The failure is in the line, message and all (an Error would stringify as {}).
      const failed = about.find((l) => l.message === 'Activity failed') as {
        error?: { message?: string };
        step?: string;
      };
      expect(failed).toMatchObject({ step: 'preflight' });
      expect(failed.error?.message).toContain('kube context "kwok-nowhere" is not in the worker\'s kubeconfig');
      expect(w.stderr()).not.toContain('taskToken');
      expect(Date.parse(about[0]?.time ?? '')).toBeGreaterThan(0);
    } finally {
      w.child.kill('SIGTERM');
      await w.exited;
      await vm.stop();
    }
  });
});

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
      expect((await probe(port, '/readyz'))?.status ?? 'stopped').not.toBe(200);
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

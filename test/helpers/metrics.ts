import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/tools/dev-server.js';
import { ensureTool } from '../../src/tools/toolchain.js';

/** A real Prometheus-API metrics server (VictoriaMetrics single-node) on loopback, with series the test writes. */
export interface MetricsServer {
  address: string;
  /** Writes samples (`name{labels} value` lines) and returns once a query sees each of them. */
  write(lines: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startMetrics(extraArgs: string[] = []): Promise<MetricsServer> {
  const binary = await ensureTool('victoria-metrics');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vm-'));
  const child: ChildProcess = spawn(
    binary,
    [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-search.latencyOffset=0s',
      '-loggerLevel=ERROR',
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const address = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${address}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('victoria-metrics did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    async write(lines) {
      const res = await fetch(`${address}/api/v1/import/prometheus`, { method: 'POST', body: `${lines.join('\n')}\n` });
      if (!res.ok) throw new Error(`write failed: HTTP ${res.status}`);
      await fetch(`${address}/internal/force_flush`);
      // A flushed sample is not always searchable at once: wait until every series answers with its new
      // value, so that a step which queries right after (steps follow each other within milliseconds)
      // sees what the test wrote.
      const deadline = Date.now() + 10_000;
      for (const line of lines) {
        const at = line.lastIndexOf(' ');
        const [selector, value] = [line.slice(0, at), Number(line.slice(at + 1))];
        for (;;) {
          const res = await fetch(`${address}/api/v1/query?query=${encodeURIComponent(selector)}`);
          const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
          if (Number(body.data?.result?.[0]?.value?.[1]) === value) break;
          if (Date.now() > deadline) throw new Error(`${selector} never showed ${value}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    async stop() {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

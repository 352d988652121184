import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { indexedType, rolloutSearchAttributes } from '../common/search-attributes.js';
import { ensureTool } from './toolchain.js';

const exec = promisify(execFile);

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Server settings the dev server runs with, as a production namespace for rollouts should. Eager activity
 * execution (off by default on a self-hosted server) hands the worker that completed a workflow task the
 * activity it scheduled in the same reply, instead of a round trip through the task queue: a cluster's
 * steps follow each other sooner, and a 1,000-cluster rollout costs the server about half the work
 * (docs/benchmarks.md).
 */
export const devServerConfig: Record<string, string> = { 'system.enableActivityEagerExecution': 'true' };

/**
 * Starts `temporal server start-dev` with the rollout's search attributes registered and waits until
 * `temporal operator cluster health` answers. Ports default to free ones; `ui: false` runs headless.
 */
export async function startDevServer(
  opts: {
    port?: number;
    uiPort?: number;
    ui?: boolean;
    dbFile?: string;
    log?: (l: string) => void;
    /** Dynamic config for the server; devServerConfig unless given. */
    config?: Record<string, string>;
    /** False: a server without the rollout's search attributes, as a self-hosted one starts. */
    searchAttributes?: boolean;
    /** The codec endpoint the Web UI decodes compressed payloads with (`rollout codec-server`'s). */
    codecEndpoint?: string;
  } = {},
): Promise<DevServer> {
  const temporal = await ensureTool('temporal', opts.log);
  const port = opts.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (opts.ui === false) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? port + 1000));
  if (opts.ui !== false && opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.searchAttributes !== false)
    for (const key of rolloutSearchAttributes) args.push('--search-attribute', `${key.name}=${indexedType(key).name}`);
  for (const [key, value] of Object.entries(opts.config ?? devServerConfig))
    args.push('--dynamic-config-value', `${key}=${value}`);
  const child = spawn(temporal, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with ${child.exitCode}: ${stderr}`);
    try {
      await exec(temporal, ['operator', 'cluster', 'health', '--address', address], { timeout: 5_000 });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server on ${address} not healthy after 60s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: opts.ui === false ? undefined : `http://localhost:${opts.uiPort ?? port + 1000}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

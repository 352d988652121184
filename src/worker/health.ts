/**
 * Liveness and readiness for a platform's probes (`ROLLOUT_HEALTH_ADDRESS=HOST:PORT`, off when unset):
 * - `GET /livez`: 200 while the worker runs or drains; 503 once it failed or stopped (restart it).
 * - `GET /readyz`: 200 while the worker polls its task queue and Temporal answers; 503 with the reason
 *   otherwise (starting, draining after SIGTERM, Temporal not answering), so a rollout of the worker's own
 *   Deployment waits for a replica that can take work.
 * Plain text, no secrets: the reason names the state and the Temporal address, nothing else.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthProbe {
  /** The SDK worker's state: INITIALIZED, RUNNING, STOPPING, DRAINING, DRAINED, STOPPED or FAILED. */
  state(): string;
  /** Resolves when Temporal answers (within a short timeout), rejects with why it does not. */
  temporalAnswers(): Promise<void>;
  /** Where Temporal is, for the reason a probe fails. */
  address: string;
}

/** "HOST:PORT" (":PORT" for every interface) as the variable gives it; an error naming it otherwise. */
export function parseHealthAddress(value: string, variable = 'ROLLOUT_HEALTH_ADDRESS'): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`${variable} is "${value}": set it to HOST:PORT, such as 0.0.0.0:8080 or 127.0.0.1:8080`);
  }
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return { host: host || '0.0.0.0', port };
}

export async function startHealthServer(
  value: string,
  probe: HealthProbe,
): Promise<{ port: number; close: () => Promise<void> }> {
  const { host, port } = parseHealthAddress(value);
  const server: Server = createServer((req, res) => {
    const reply = (code: number, text: string) =>
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
    const state = probe.state();
    if (req.method !== 'GET') return reply(405, 'GET only');
    if (req.url === '/livez') {
      return state === 'FAILED' || state === 'STOPPED'
        ? reply(503, `worker ${state}`)
        : reply(200, `ok: worker ${state}`);
    }
    if (req.url === '/readyz') {
      if (state !== 'RUNNING') return reply(503, `not ready: worker ${state}`);
      probe.temporalAnswers().then(
        () => reply(200, 'ok: polling, Temporal answers'),
        (err: unknown) =>
          reply(503, `not ready: Temporal at ${probe.address} does not answer: ${(err as Error).message}`),
      );
      return;
    }
    reply(404, 'GET /livez or /readyz');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`ROLLOUT_HEALTH_ADDRESS ${value}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { startDevServer } from '../tools/dev-server.js';
import { temporalConfig } from '../common/temporal-config.js';
import { createWorker } from '../worker/worker.js';
import { print } from './shared.js';

/**
 * `rollout dev`: a local Temporal dev server (gRPC on :7233, Web UI on :8233) and a worker, until Ctrl-C.
 * With --db-file the server keeps its state across restarts.
 */
export async function devCommand(opts: { port: number; uiPort: number; dbFile?: string }): Promise<void> {
  const server = await startDevServer({
    port: opts.port,
    uiPort: opts.uiPort,
    dbFile: opts.dbFile,
    log: (l) => print(l),
  });
  const config = { ...temporalConfig(), address: server.address };
  const { worker, close } = await createWorker(config);
  print(`Temporal dev server on ${server.address}, Web UI at ${server.uiUrl ?? '(headless)'}`);
  print(`worker polling task queue ${config.taskQueue}; Ctrl-C stops both`);
  try {
    await worker.run();
  } finally {
    await close();
    await server.stop();
  }
}

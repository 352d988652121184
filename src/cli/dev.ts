import { startDevServer } from '../tools/dev-server.js';
import { findTool } from '../tools/find.js';
import { temporalConfig } from '../common/temporal-config.js';
import { createWorker, installWorkerLogging } from '../worker/worker.js';
import { envValue, logLevel } from '../common/env.js';
import { Option, type Command } from 'commander';
import { parse } from './options.js';
import { print } from './shared.js';
import { action } from './verb.js';

/**
 * `rollout dev`: a local Temporal dev server (gRPC on :7233, Web UI on :8233) and a worker, until Ctrl-C.
 * With --db-file the server keeps its state across restarts.
 */
export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run a local Temporal dev server (Web UI on :8233) and a worker')
    .addOption(new Option('--port <port>', 'gRPC port').argParser(parse.port).default(7233))
    .addOption(new Option('--ui-port <port>', 'Web UI port').argParser(parse.port).default(8233))
    .option('--db-file <file>', 'keep server state in this SQLite file')
    .action(action(devCommand));
}

export async function devCommand(opts: { port: number; uiPort: number; dbFile?: string }): Promise<void> {
  const server = await startDevServer({
    port: opts.port,
    uiPort: opts.uiPort,
    dbFile: opts.dbFile,
    log: (l) => print(l),
  });
  const config = { ...temporalConfig(), address: server.address };
  // For development: the Helm `npm run tools` built, when no other is configured (else helm on PATH).
  const built = envValue('ROLLOUT_HELM') ? undefined : await findTool('helm');
  if (built) process.env['ROLLOUT_HELM'] = built;
  installWorkerLogging(logLevel());
  const { worker, close } = await createWorker(config);
  print(`Temporal dev server on ${server.address}, Web UI at ${server.uiUrl ?? '(headless)'}`);
  print(`worker polling task queue ${config.taskQueue}; Ctrl-C stops it and the server`);
  try {
    await worker.run();
  } finally {
    await close();
    await server.stop();
  }
}

/**
 * `npm run dev [-- --port P --ui-port P --db-file F]`: for development, a local Temporal dev server (gRPC on
 * :7233, Web UI on :8233) and a rollout worker, until Ctrl-C. With --db-file the server keeps its state
 * across restarts. The worker runs the Helm `npm run tools` built unless ROLLOUT_HELM names another.
 * Production runs `rollout-worker` against its own Temporal; neither it nor the `rollout` CLI imports the
 * development toolchain this uses.
 */
import { parseArgs } from 'node:util';
import { envValue, logLevel } from '../src/common/env.js';
import { temporalConfig } from '../src/common/temporal-config.js';
import { startCodecServer } from '../src/client/codec-server.js';
import { startDevServer } from '../src/tools/dev-server.js';
import { findTool } from '../src/tools/find.js';
import { createWorker, installWorkerLogging } from '../src/worker/worker.js';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '7233' },
    'ui-port': { type: 'string', default: '8233' },
    'db-file': { type: 'string' },
  },
});
const port = (name: 'port' | 'ui-port') => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    console.error(`--${name} must be a port number (1-65535), not "${opts[name]}"`);
    process.exit(2);
  }
  return n;
};

const say = (line: string) => console.log(line);
// The Web UI shows a large rollout's compressed payloads as JSON through this codec endpoint.
const codec = await startCodecServer('127.0.0.1', 0);
const server = await startDevServer({
  port: port('port'),
  uiPort: port('ui-port'),
  dbFile: opts['db-file'],
  log: say,
  codecEndpoint: codec.url,
});
const config = { ...temporalConfig(), address: server.address };
const built = envValue('ROLLOUT_HELM') ? undefined : await findTool('helm');
if (built) process.env['ROLLOUT_HELM'] = built;
installWorkerLogging(logLevel(), envValue('ROLLOUT_METRICS_ADDRESS'));
const { worker, close } = await createWorker(config);
say(`Temporal dev server on ${server.address}, Web UI at ${server.uiUrl ?? '(headless)'}`);
say(`worker polling task queue ${config.taskQueue}; Ctrl-C stops it and the server`);
try {
  await worker.run();
} finally {
  await close();
  await server.stop();
  await codec.close();
}

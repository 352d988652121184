/**
 * The engine benchmark's worker, a process of its own so that its resident memory can be sampled alone:
 * the product's worker options, the product's workflows (plus the bare fan-out) from a prebuilt bundle,
 * and activity doubles that answer at once. Prints "ready" when polling.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { workerTuning } from '../src/worker/worker.js';
import { RolloutWorkers } from '../src/worker/workers.js';
import { instantActivities } from './fleet.js';
import { dataConverter } from '../src/common/payload-codec.js';

// The SDK's own metrics, for the benchmark to read how long each workflow type's activations took here.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { metrics: { prometheus: { bindAddress: process.env['BENCH_METRICS'] ?? '127.0.0.1:0' } } },
});
const address = process.env['BENCH_ADDRESS'] ?? '127.0.0.1:7233';
const connection = await NativeConnection.connect({ address });
// The rollouts take their clusters from the product's lock registry, through this client.
const clientConnection = await Connection.connect({ address });
const client = new Client({ connection: clientConnection, dataConverter });
// As rollout-worker runs: the bench queue and its cluster queue, where the bare fan-out's children run too.
const worker = await RolloutWorkers.create({
  connection,
  dataConverter,
  taskQueue: process.env['BENCH_QUEUE'] ?? 'bench',
  workflowBundle: { codePath: process.env['BENCH_BUNDLE'] ?? '' },
  activities: { ...instantActivities(client), noop: () => Promise.resolve() },
  ...workerTuning,
});
process.on('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log('ready');
await running;
await clientConnection.close();
await connection.close();

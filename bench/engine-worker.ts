/**
 * The engine benchmark's worker, a process of its own so that its resident memory can be sampled alone:
 * the product's worker options, the product's workflows (plus the bare fan-out) from a prebuilt bundle,
 * and activity doubles that answer at once. Prints "ready" when polling.
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { workerTuning } from '../src/worker/worker.js';
import { instantActivities } from './fleet.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const address = process.env['BENCH_ADDRESS'] ?? '127.0.0.1:7233';
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  taskQueue: process.env['BENCH_QUEUE'] ?? 'bench',
  workflowBundle: { codePath: process.env['BENCH_BUNDLE'] ?? '' },
  activities: { ...instantActivities(), noop: () => Promise.resolve() },
  ...workerTuning,
});
process.on('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log('ready');
await running;
await connection.close();

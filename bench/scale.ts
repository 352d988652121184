/**
 * `npm run scale`: a rollout of many clusters to try by hand, as a new user would at 10,000: `rollout
 * status`, `watch`, `-o json`, `approve`, `pause`, `retry`, `rollback` and the Web UI against it. Nothing
 * here touches a cluster: the engine is real (a Temporal dev server with its Web UI, the product's workflows
 * on the product's worker options), the fleet is activity doubles whose steps take SCALE_STEP_MS each.
 *
 * The rollout: SCALE_CLUSTERS (10,000) clusters in four phases, a canary of 10 and three waves at
 * maxParallel SCALE_PARALLEL (500); the second and third waves wait behind an approval gate. SCALE_FAIL
 * clusters of the first wave (3) fail their verification once, so that the rollout pauses for a decision
 * (retry them, skip them, or roll back). The Web UI decodes the compressed payloads through the
 * project's codec endpoint (`rollout codec-server`), started here. Prints how to point the CLI at it and
 * holds until Ctrl-C, which stops everything it started.
 */
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startCodecServer } from '../src/client/codec-server.js';
import { dataConverter } from '../src/common/payload-codec.js';
import { FailureType } from '../src/domain/failure-types.js';
import { startDevServer } from '../src/tools/dev-server.js';
import { workerTuning, workflowSource } from '../src/worker/worker.js';
import { RolloutWorkers } from '../src/worker/workers.js';
import type { rollout } from '../src/workflows/api.js';
import type { Activities } from '../src/activities/contracts.js';
import { benchInput, instantActivities } from './fleet.js';
import { rolloutSummary } from '../src/domain/summary.js';

const count = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
};
const n = count('SCALE_CLUSTERS', 10_000);
const parallel = count('SCALE_PARALLEL', 500);
const stepMs = count('SCALE_STEP_MS', 2_000);
const failing = count('SCALE_FAIL', 3);
if (n < 40) {
  console.error('SCALE_CLUSTERS must be at least 40: a canary of 10 and three waves');
  process.exit(2);
}

Runtime.install({ logger: new DefaultLogger('ERROR') });
const codec = await startCodecServer('127.0.0.1', 0);
const server = await startDevServer({ codecEndpoint: codec.url });
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection, dataConverter });

// The clusters: a canary of 10, then three waves of about a third each.
const names = Array.from({ length: n }, (_, i) => `c${i + 1}`);
const third = Math.ceil((n - 10) / 3);
const waves = [names.slice(10, 10 + third), names.slice(10 + third, 10 + 2 * third), names.slice(10 + 2 * third)];
// Spread through the first wave, so that they fail while others are in flight.
const fails = new Set(
  Array.from({ length: failing }, (_, i) => waves[0]?.[Math.floor(((i + 1) * third) / (failing + 1))]),
);
const failed = new Set<string>();

// Each step of a cluster takes stepMs, as a real fleet's do; a failing cluster's first verification fails.
const instant = instantActivities(client);
/** What a double answers, after the time a real step takes. */
const slowly = async <T>(answer: () => Promise<T>): Promise<T> => {
  await new Promise((r) => setTimeout(r, stepMs));
  return answer();
};
const activities: Activities = {
  ...instant,
  upgradeRelease: (i) => slowly(() => instant.upgradeRelease(i)),
  runSynchronizerJob: (i) => slowly(() => instant.runSynchronizerJob(i)),
  waitForCacheReady: (i) => slowly(() => instant.waitForCacheReady(i)),
  rollbackRelease: (i) => slowly(() => instant.rollbackRelease(i)),
  verifyWorkloads: (input) =>
    slowly(() => {
      // The chart's verification (the operator's passes), once.
      if (input.release.releaseName === 'app' && fails.has(input.cluster) && !failed.has(input.cluster)) {
        failed.add(input.cluster);
        throw ApplicationFailure.create({
          type: FailureType.VerifyFailed,
          message: `deployment/app on ${input.cluster}: 0 of 3 pods Ready (a double failing once, so that you can decide)`,
          nonRetryable: true,
        });
      }
      return instant.verifyWorkloads(input);
    }),
};

const native = await NativeConnection.connect({ address: server.address });
const worker = await RolloutWorkers.create({
  connection: native,
  dataConverter,
  taskQueue: 'scale',
  ...workflowSource(),
  activities,
  ...workerTuning,
});
const running = worker.run();

const input = benchInput([
  { name: 'canary', clusters: names.slice(0, 10), maxParallel: 5 },
  { name: 'wave-1', clusters: waves[0] ?? [], maxParallel: parallel },
  { name: 'wave-2', clusters: waves[1] ?? [], maxParallel: parallel, approval: 'required' },
  { name: 'wave-3', clusters: waves[2] ?? [], maxParallel: parallel, approval: 'required' },
]);
const id = `scale-${n}`;
// Started as \`rollout start\` starts one, with the summary the Web UI shows under User Metadata.
await client.workflow.start<typeof rollout>('rollout', {
  taskQueue: 'scale',
  workflowId: id,
  args: [input],
  staticSummary: rolloutSummary(input),
});

const failingNames = [...fails];
const failLine =
  failingNames.length === 0
    ? 'no cluster fails its verification'
    : failingNames.length === 1
      ? `${failingNames[0]} fails its verification once`
      : `${failingNames.join(', ')} fail their verification once`;
console.log(`
A rollout of ${n} clusters is running: ${id}, in four phases (a canary of 10, 5 at a time, then waves of about ${third} at
maxParallel ${parallel}; wave-2 and wave-3 wait for an approval). Each step of a cluster takes ${stepMs} ms;
${failLine}.

In another terminal:
  export TEMPORAL_ADDRESS=${server.address}
  npm run build
  node dist/cli/main.js status ${id}
  node dist/cli/main.js watch ${id}
  node dist/cli/main.js status ${id} -o json | wc -c
  node dist/cli/main.js approve ${id} --phase wave-2
  node dist/cli/main.js retry ${id} --cluster ${[...fails][0] ?? 'c20'}
  node dist/cli/main.js pause ${id}; node dist/cli/main.js resume ${id}
  node dist/cli/main.js rollback ${id}

The Web UI: ${server.uiUrl ?? '(none)'}/namespaces/default/workflows/${id}
Ctrl-C stops the worker, the server and the codec endpoint.`);

const stop = async () => {
  worker.shutdown();
  await running.catch(() => undefined);
  await native.close();
  await connection.close();
  await server.stop();
  await codec.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

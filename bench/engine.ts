/**
 * `npm run bench:engine`: the engine's own cost at fleet scale. One rollout of 1,000 clusters in four
 * phases (maxParallel 100) on a real dev server with activity doubles, then, on the same server and worker,
 * a bare Temporal fan-out of the same shape (1,000 child workflows, each running as many no-op activities
 * as one cluster of the rollout ran, 100 at a time). Reports wall times, their ratio (the engine's own
 * overhead), the worker's resident memory sampled alone (it runs in a process of its own), the CPU each
 * process spent (where the time goes), and the parent's history. A benchmark, not a test: it asserts
 * nothing. Prints a `| measure | value |` row per figure and writes them to docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { workerNodeFlags } from '../src/worker/heap.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { devServerConfig, freePort, startDevServer } from '../src/tools/dev-server.js';
import type { rollout } from '../src/workflows/rollout.js';
import { lockRegistryId, statusPageQuery } from '../src/workflows/definitions.js';
import type { bareFanout } from './bare.js';
import { writeSection } from './docs.js';
import { benchInput } from './fleet.js';
import { activationTimes, largestPayload, profileHistories, profileTable, since } from './profile.js';
import { dataConverter } from '../src/common/payload-codec.js';
import { fetchStatus } from '../src/cli/status.js';

const n = Number(process.env['BENCH_CLUSTERS'] ?? 1000);
// The waves' maxParallel: 100 at 1,000 clusters; from 5,000 clusters, 500 (the 10,000-cluster shape).
const parallel = Number(process.env['BENCH_PARALLEL'] ?? (n >= 5000 ? 500 : 100));
const root = new URL('../', import.meta.url).pathname;
const taskQueue = 'bench-engine';

/** Resident set of a process now, and the CPU seconds it has used (user + system), from /proc. */
function sample(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: rssKiB / 1024, cpuSeconds: ticks / 100 };
}

/** Runs `work`, sampling the worker's RSS every 100 ms; wall time, peak RSS and each process's CPU. */
async function measured<T>(pids: Record<string, number>, work: () => Promise<T>) {
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, sample(pid).cpuSeconds]));
  const self0 = process.cpuUsage();
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, sample(pids['worker'] as number).rssMiB)), 100);
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, sample(pids['worker'] as number).rssMiB);
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, sample(pid).cpuSeconds - (cpu0[k] as number)]),
  );
  const self = process.cpuUsage(self0);
  cpu['bench client'] = (self.user + self.system) / 1e6;
  return { result, seconds, peakMiB: peak, cpu };
}

// BENCH_EAGER=0: the server's own default, activities dispatched through the task queue only.
const eager = process.env['BENCH_EAGER'] !== '0';
const server = await startDevServer({ ui: false, config: eager ? devServerConfig : {} });
const dir = mkdtempSync(join(tmpdir(), 'bench-engine-'));
const bundle = join(dir, 'workflows.js');
// Bundled as the product's are (bundleSource): the benchmark's entry adds the bare fan-out.
const entry = join(root, 'bench/engine-workflows.ts');
writeFileSync(bundle, (await bundleWorkflowCode({ workflowsPath: entry, preloadModules: [entry] })).code);

// The worker runs as production's does, compiled JavaScript on plain Node (tsx, which transpiles on the
// fly, would add about 100 MiB to what is measured), from the prebuilt bundles.
await new Promise<void>((resolve, reject) =>
  spawn(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.bench.json')], {
    stdio: 'inherit',
  }).once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`compiling the benchmark worker failed (${c})`)))),
);
const metricsAddress = `127.0.0.1:${await freePort()}`;
const metrics = () => activationTimes(`http://${metricsAddress}/metrics`);
// The worker runs with rollout-worker's Node flags; BENCH_WORKER_NODE_ARGS adds more, e.g.
// "--cpu-prof --cpu-prof-dir=DIR" to profile it.
const workerNodeArgs = [
  ...workerNodeFlags,
  ...(process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
];
const worker = spawn(process.execPath, [...workerNodeArgs, join(root, '.tmp/bench-worker/bench/engine-worker.js')], {
  env: {
    ...process.env,
    BENCH_ADDRESS: server.address,
    BENCH_BUNDLE: bundle,
    BENCH_QUEUE: taskQueue,
    BENCH_METRICS: metricsAddress,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  worker.once('exit', (c) => reject(new Error(`the benchmark worker exited with ${c}`)));
  createInterface({ input: worker.stdout }).on('line', (l) => l === 'ready' && resolve());
});
const pids = { worker: worker.pid as number, 'Temporal dev server': server.process.pid as number };
const idleMiB = sample(pids.worker).rssMiB;

// A page of a 10,000-cluster rollout's history is larger than gRPC's default 4 MB answer.
const connection = await Connection.connect({
  address: server.address,
  channelArgs: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
});
const client = new Client({ connection, dataConverter });
const names = Array.from({ length: n }, (_, i) => `c${i + 1}`);
const canary = Math.max(1, Math.round(n / 100));
const wave = Math.ceil((n - canary) / 3);
const input = benchInput([
  { name: 'canary', clusters: names.slice(0, canary) },
  { name: 'wave-1', clusters: names.slice(canary, canary + wave), maxParallel: parallel },
  { name: 'wave-2', clusters: names.slice(canary + wave, canary + 2 * wave), maxParallel: parallel },
  { name: 'wave-3', clusters: names.slice(canary + 2 * wave), maxParallel: parallel },
]);

/**
 * What `rollout status` costs while the rollout runs at full width: every 3 s, the time `fetchStatus`
 * (the CLI's own read: describe, the rollout's status-page query, the live step of the 10 clusters
 * longest in flight) takes from this process, until `running` says the rollout closed; with when each
 * read began, to place the slow ones against the rollout's changes of run and phase.
 */
async function statusReads(id: string, running: () => boolean): Promise<{ at: number; seconds: number }[]> {
  const reads: { at: number; seconds: number }[] = [];
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await pause(3000);
  while (running()) {
    const at = Date.now();
    const t0 = performance.now();
    const read = await fetchStatus(client, id).then(
      () => true,
      () => false, // not started yet, or closed between the check and the read
    );
    if (read && running()) reads.push({ at, seconds: (performance.now() - t0) / 1000 });
    await pause(3000);
  }
  return reads;
}

/** The rollout, measured (it gives its clusters back before it closes); then how many activities a cluster ran. */
async function rolloutRun(id: string) {
  const registry0 = await registryCounts();
  const m0 = await metrics();
  let running = true;
  const reads = statusReads(id, () => running);
  const roll = await measured(pids, () =>
    client.workflow
      .execute<typeof rollout>('rollout', { taskQueue, workflowId: id, args: [input] })
      .finally(() => (running = false)),
  );
  const statusReadList = await reads;
  const statusSeconds = statusReadList.map((r) => r.seconds);
  const m1 = await metrics();
  // Every run of the rollout: one continues as new when its history nears its budget.
  const runIds: string[] = [];
  const runStarts: number[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
    runIds.push(w.runId);
    runStarts.push(w.startTime.getTime());
  }
  // When each phase began (the last run's status carries every phase's).
  const phaseStarts = (await client.workflow.getHandle(id).query(statusPageQuery, { limit: 1 })).status.phases
    .map((p) => (p.startedAt ? Date.parse(p.startedAt) : undefined))
    .filter((t): t is number => t !== undefined);
  const t0 = Math.min(...runStarts);
  // A slow read, placed: seconds into the rollout, and whether a run or a phase began in the 10 s before it
  // or while it ran (when the rollout starts up to maxParallel clusters in one workflow task).
  const slowReads = statusReadList
    .filter((r) => r.seconds > 2)
    .map((r) => {
      const near = (ts: number[]) => ts.some((t) => t >= r.at - 10_000 && t <= r.at + r.seconds * 1000);
      return {
        into: (r.at - t0) / 1000,
        seconds: r.seconds,
        change: near(runStarts.filter((t) => t > t0)) ? 'run' : near(phaseStarts) ? 'phase' : undefined,
      };
    });
  const runs = await Promise.all(
    runIds.map(async (r) => (await client.workflow.getHandle(id, r).fetchHistory()).events ?? []),
  );
  const parent = runs.flat();
  const child = await client.workflow.getHandle(`${id}:c1`).fetchHistory();
  const isLocal = (e: (typeof parent)[number]) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity';
  const childSteps = (child.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes || isLocal(e)).length;
  // The rollout takes each cluster's snapshot itself (a local activity, else the regular one).
  const snapshots = parent.filter(
    (e) => isLocal(e) || e.activityTaskScheduledEventAttributes?.activityId?.startsWith('snapshot:'),
  ).length;
  const registry1 = await registryCounts();
  const registry = {
    events: registry1.events - registry0.events,
    tasks: registry1.tasks - registry0.tasks,
    maxPayloadBytes: registry1.maxPayloadBytes,
  };
  return {
    roll,
    statusSeconds,
    slowReads,
    runOffsets: runStarts.map((t) => (t - t0) / 1000).sort((a, b) => a - b),
    events: parent.length,
    runs: runs.length,
    longestRun: Math.max(...runs.map((r) => r.length)),
    steps: childSteps + Math.round(snapshots / n),
    rollTasks: since(m1, m0),
    registry,
  };
}

/**
 * The lock registry's events and workflow tasks so far: a workflow of its own, not in the rollout's
 * tree, which the rollout asks for its clusters and gives them back to (none before the first rollout).
 */
async function registryCounts(): Promise<{ events: number; tasks: number; maxPayloadBytes: number }> {
  const handle = client.workflow.getHandle(lockRegistryId(taskQueue));
  const exists = await handle.describe().then(
    () => true,
    (err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    },
  );
  const events = exists ? ((await handle.fetchHistory()).events ?? []) : [];
  return {
    events: events.length,
    tasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    maxPayloadBytes: Math.max(0, ...events.map((e) => largestPayload(e))),
  };
}

async function bareRun(id: string, steps: number) {
  const m0 = await metrics();
  const bare = await measured(pids, () =>
    client.workflow.execute<typeof bareFanout>('bareFanout', {
      taskQueue,
      workflowId: id,
      args: [{ children: n, steps, parallel }],
    }),
  );
  return { bare, bareTasks: since(await metrics(), m0) };
}

/**
 * One round: the rollout and the bare fan-out of the same shape, with as many activities per child as a
 * cluster of the rollout ran, on the same server and worker. Odd rounds run the rollout first, even rounds
 * the bare fan-out first, so that a drift of this machine's speed within a round weighs on both alike.
 */
async function round(r: number, steps?: number) {
  const id = `bench-engine-${n}-${r}`;
  const bareId = `bench-bare-${n}-${r}`;
  if (steps !== undefined && r % 2 === 0) {
    const b = await bareRun(bareId, steps);
    return { id, bareId, ...(await rolloutRun(id)), ...b };
  }
  const ro = await rolloutRun(id);
  return { id, bareId, ...ro, ...(await bareRun(bareId, ro.steps)) };
}

const rounds: Awaited<ReturnType<typeof round>>[] = [];
for (let r = 1; r <= Number(process.env['BENCH_ROUNDS'] ?? 2); r++) rounds.push(await round(r, rounds[0]?.steps));
const last = rounds[rounds.length - 1] as Awaited<ReturnType<typeof round>>;
// Read back after the runs, so that reading histories never competes with a run being measured.
const rollHistories = await profileHistories(client, `RootWorkflowId = '${last.id}'`);
const rollProfile = profileTable(rollHistories, last.rollTasks);
const bareProfile = profileTable(await profileHistories(client, `RootWorkflowId = '${last.bareId}'`), last.bareTasks);

worker.kill('SIGTERM');
await new Promise((r) => worker.once('exit', r));
await connection.close();
await server.stop();

const cpuRow = (m: { cpu: Record<string, number> }) =>
  Object.entries(m.cpu)
    .map(([k, s]) => `${k} ${s.toFixed(0)} s`)
    .join(', ');
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const each = (xs: number[], digits: number, unit = '') =>
  `${median(xs).toFixed(digits)}${unit} (${xs.map((x) => x.toFixed(digits)).join(', ')})`;
const statusRow = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2);
  const within = xs.filter((x) => x <= 2).length;
  return `${xs.length} reads: median ${at(0.5)} s, 90th percentile ${at(0.9)} s, longest ${at(1)} s; ${within} of ${xs.length} within 2 s`;
};
const rows: [string, string][] = [
  ['clusters', String(n)],
  ['rounds', String(rounds.length)],
  ['rollout outcome', rounds.map((r) => r.roll.result.state).join(', ')],
  [
    'rollout wall time, median (each round)',
    each(
      rounds.map((r) => r.roll.seconds),
      1,
      ' s',
    ),
  ],
  [
    'bare fan-out wall time, median (each round)',
    each(
      rounds.map((r) => r.bare.seconds),
      1,
      ' s',
    ),
  ],
  [
    'ratio rollout / bare, median (each round)',
    each(
      rounds.map((r) => r.roll.seconds / r.bare.seconds),
      2,
    ),
  ],
  [
    'activities per cluster',
    `${last.steps} (${last.steps - 2} activities, 2 local activities: the snapshot, taken by the rollout, and the Job's removal)`,
  ],
  [
    '`rollout status` read every 3 s during the rollout (all rounds)',
    statusRow(rounds.flatMap((r) => r.statusSeconds)),
  ],
  [
    'reads over 2 s (last round): seconds into the rollout, and a change of run or phase in the 10 s before',
    last.slowReads.length === 0
      ? 'none'
      : `${last.slowReads.map((r) => `${r.seconds.toFixed(1)} s at ${r.into.toFixed(0)} s${r.change ? ` (new ${r.change})` : ''}`).join(', ')}; runs began at ${last.runOffsets.map((t) => `${t.toFixed(0)} s`).join(', ')}`,
  ],
  ['worker RSS idle', `${idleMiB.toFixed(0)} MiB`],
  ['worker RSS peak, rollout', `${Math.max(...rounds.map((r) => r.roll.peakMiB)).toFixed(0)} MiB`],
  ['worker RSS peak, bare', `${Math.max(...rounds.map((r) => r.bare.peakMiB)).toFixed(0)} MiB`],
  ['parent history', `${last.events} events in ${last.runs} run(s), the longest ${last.longestRun}`],
  [
    `lock registry, for the rollout (taking and giving back ${n} clusters)`,
    `${last.registry.events} events, ${last.registry.tasks} workflow tasks, largest payload ${(last.registry.maxPayloadBytes / 1024).toFixed(1)} kB`,
  ],
  [
    "longest history in the rollout's tree",
    `${Math.max(...rollHistories.map((h) => h.maxEvents))} events (Temporal warns at 10,240)`,
  ],
  [
    "largest payload stored in the rollout's tree",
    `${(Math.max(...rollHistories.map((h) => h.maxPayloadBytes)) / 1024).toFixed(1)} kB as stored, large ones compressed (Temporal warns at 512 kB)`,
  ],
  ['CPU during the rollout (last round)', cpuRow(last.roll)],
  ['CPU during the bare fan-out (last round)', cpuRow(last.bare)],
];
const tableText = ['| measure | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');

// 1,000 clusters is the standing figure; another size gets a section of its own beside it.
const heading = n === 1000 ? '## Engine cost at fleet scale' : `## Engine cost at ${n.toLocaleString('en')} clusters`;
const section = `
${heading}

\`npm run bench:engine\` (BENCH_CLUSTERS=${n}, BENCH_ROUNDS=${rounds.length}): one rollout of ${n} clusters in four
phases (a canary of ${canary}, then three waves, maxParallel ${parallel}, no gates) on a dev server (eager activity execution ${eager ? 'on, as the project runs it' : 'off, the server default'}) with activity
doubles, then on the same server and worker a bare Temporal fan-out of the same shape: ${n} child workflows,
each running ${last.steps} no-op activities (as many as one cluster of the rollout ran), ${parallel} at a time; the
two alternate, ${rounds.length} rounds (rollout first in odd rounds, bare first in even ones, so that a drift of
the machine's speed within a round weighs on both alike). The worker is the product's: compiled, in a process of its own, with the
product's options and prebuilt bundle (an SDK worker on the task queue and one on its cluster queue, where the bare
fan-out's children run too); its resident memory is sampled every 100 ms. While the rollout runs, the benchmark
reads its status as \`rollout status\` does every 3 s (none during the bare fan-out, which has no status). Measured on ${new Date().toISOString().slice(0, 10)} on this project's standard machine (2 cores).

${tableText}

Where the time went in the last round, per workflow type: workflow tasks and events from the histories the
server kept; the worker's own time from the SDK's metrics (\`workflow_task_execution_latency\`: a task's
receipt to its completion, on the worker); and how long tasks waited to be picked up. Times are sums
over tasks that overlap: the worker holds up to 40 workflow tasks at once and runs them on one workflow
thread, so a task's time on the worker includes its turn; compare types by their shares.

Rollout:

${rollProfile}

Bare fan-out:

${bareProfile}
`;
writeSection(join(root, 'docs/benchmarks.md'), heading, section);
console.log(tableText);
console.log(rollProfile);
console.log(bareProfile);
process.exit(0);

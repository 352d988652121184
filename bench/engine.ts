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
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../src/tools/dev-server.js';
import type { rollout } from '../src/workflows/rollout.js';
import type { bareFanout } from './bare.js';
import { writeSection } from './docs.js';
import { benchInput } from './fleet.js';

const n = Number(process.env['BENCH_CLUSTERS'] ?? 1000);
const parallel = 100;
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

const server = await startDevServer({ ui: false });
const dir = mkdtempSync(join(tmpdir(), 'bench-engine-'));
const bundle = join(dir, 'workflows.js');
const { code } = await bundleWorkflowCode({ workflowsPath: join(root, 'bench/engine-workflows.ts') });
writeFileSync(bundle, code);

const worker = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/engine-worker.ts')], {
  env: { ...process.env, BENCH_ADDRESS: server.address, BENCH_BUNDLE: bundle, BENCH_QUEUE: taskQueue },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  worker.once('exit', (c) => reject(new Error(`the benchmark worker exited with ${c}`)));
  createInterface({ input: worker.stdout }).on('line', (l) => l === 'ready' && resolve());
});
const pids = { worker: worker.pid as number, 'Temporal dev server': server.process.pid as number };
const idleMiB = sample(pids.worker).rssMiB;

const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const names = Array.from({ length: n }, (_, i) => `c${i + 1}`);
const canary = Math.max(1, Math.round(n / 100));
const wave = Math.ceil((n - canary) / 3);
const input = benchInput([
  { name: 'canary', clusters: names.slice(0, canary) },
  { name: 'wave-1', clusters: names.slice(canary, canary + wave), maxParallel: parallel },
  { name: 'wave-2', clusters: names.slice(canary + wave, canary + 2 * wave), maxParallel: parallel },
  { name: 'wave-3', clusters: names.slice(canary + 2 * wave), maxParallel: parallel },
]);

const id = `bench-engine-${n}`;
const roll = await measured(pids, () =>
  client.workflow.execute<typeof rollout>('rollout', { taskQueue, workflowId: id, args: [input] }),
);
const history = await client.workflow.getHandle(id).fetchHistory();
const events = history.events?.length ?? 0;
const child = await client.workflow.getHandle(`${id}:c1`).fetchHistory();
const steps = (child.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;

const bare = await measured(pids, () =>
  client.workflow.execute<typeof bareFanout>('bareFanout', {
    taskQueue,
    workflowId: `bench-bare-${n}`,
    args: [{ children: n, steps, parallel }],
  }),
);

worker.kill('SIGTERM');
await new Promise((r) => worker.once('exit', r));
await connection.close();
await server.stop();

const cpuRow = (m: { cpu: Record<string, number> }) =>
  Object.entries(m.cpu)
    .map(([k, s]) => `${k} ${s.toFixed(0)} s`)
    .join(', ');
const rows: [string, string][] = [
  ['clusters', String(n)],
  ['rollout outcome', roll.result.state],
  ['rollout wall time', `${roll.seconds.toFixed(1)} s`],
  ['bare fan-out wall time', `${bare.seconds.toFixed(1)} s (${bare.result} children)`],
  ['ratio rollout / bare', (roll.seconds / bare.seconds).toFixed(2)],
  ['activities per cluster', String(steps)],
  ['worker RSS idle', `${idleMiB.toFixed(0)} MiB`],
  ['worker RSS peak, rollout', `${roll.peakMiB.toFixed(0)} MiB`],
  ['worker RSS peak, bare', `${bare.peakMiB.toFixed(0)} MiB`],
  ['parent history', `${events} events`],
  ['CPU during the rollout', cpuRow(roll)],
  ['CPU during the bare fan-out', cpuRow(bare)],
];
const tableText = ['| measure | value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');

const section = `
## Engine cost at fleet scale

\`npm run bench:engine\` (BENCH_CLUSTERS=${n}): one rollout of ${n} clusters in four phases (a canary of
${canary}, then three waves, maxParallel ${parallel}, no gates) on a dev server with activity doubles, then on the
same server and worker a bare Temporal fan-out of the same shape: ${n} child workflows, each running the
${steps} no-op activities one cluster of the rollout ran, ${parallel} at a time. The worker runs in a process of its
own, with the product's worker options, and its resident memory is sampled every 100 ms. Measured on
${new Date().toISOString().slice(0, 10)} on this project's standard machine (2 cores).

${tableText}
`;
writeSection(join(root, 'docs/benchmarks.md'), '## Engine cost at fleet scale', section);
console.log(tableText);
process.exit(0);

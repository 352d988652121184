/**
 * `npm run bench:latency`: how quickly the engine acts on what it observes, on the lab (three kwok clusters,
 * real Helm, a real dev server, the product's worker with its real activities). Rolls the lab plan
 * (gates auto, no bake) several times, each followed by a never-ready version that fails its verification,
 * and reads the histories: from a step's activity returning to the next step being scheduled, from a
 * cluster finishing to the next one's first step (and its workflow) starting, and from a failed check to
 * its rollback's first step. How
 * quickly an activity notices a condition in the API server is `npm run bench`'s figure. A benchmark, not
 * a test: it asserts nothing. Writes docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadPlanFile } from '../src/cli/shared.js';
import { freePort, startDevServer } from '../src/tools/dev-server.js';
import { createWorker } from '../src/worker/worker.js';
import { ensureTool } from '../src/tools/toolchain.js';
import { writeSection } from './docs.js';
import type { rollout } from '../src/workflows/rollout.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const root = new URL('../', import.meta.url).pathname;
Runtime.install({ logger: new DefaultLogger('ERROR') });

process.env['LAB_DIR'] = mkdtempSync(join(tmpdir(), 'lab-latency-'));
process.env['LAB_REPO_PORT'] = String(await freePort());
process.env['LAB_GIT_PORT'] = String(await freePort());
process.env['LAB_METRICS_PORT'] = String(await freePort());
const lab = await import('../lab/lab.js');
const state = await lab.labUp(3, (l) => console.error(l));
process.env['KUBECONFIG'] = state.kubeconfig;
process.env['ROLLOUT_HELM'] ??= await ensureTool('helm');

// The lab plan on this lab's repository: no gate, no bake; a never-ready version fails verification in 15 s.
const dir = mkdtempSync(join(tmpdir(), 'plans-'));
const planFile = join(dir, 'lab.yaml');
writeFileSync(
  planFile,
  readFileSync(join(root, 'rollout-plans/lab.yaml'), 'utf8')
    .replaceAll('http://127.0.0.1:8879', state.repoUrl)
    .replaceAll('../', root)
    .replaceAll('approval: required', 'approval: auto')
    .replace('bake: 20s', 'bake: 0s')
    .replace(/(verify:\n(?: {4}.*\n)*?) {4}timeout: 1m/, '$1    timeout: 15s'),
);
const { plan, source } = await loadPlanFile(planFile);

const server = await startDevServer({ ui: false });
const taskQueue = 'bench-latency';
const { worker, close } = await createWorker({ address: server.address, namespace: 'default', taskQueue });
const running = worker.run();
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });

const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
const events = async (id: string) => (await client.workflow.getHandle(id).fetchHistory()).events ?? [];

const stepGaps: number[] = [];
const snapshotGaps: number[] = [];
const clusterGaps: number[] = [];
const rollbackGaps: number[] = [];
const outcomes: string[] = [];

async function roll(id: string, chartVersion: string) {
  const input = {
    plan,
    source,
    chartVersion,
    operatorVersion: plan.spec.release.operator.version,
    startedBy: 'bench',
  };
  const result = await client.workflow.execute<typeof rollout>('rollout', { taskQueue, workflowId: id, args: [input] });
  outcomes.push(`${chartVersion}: ${result.state}`);
  const parent = await events(id);
  const children = parent.flatMap((e) => {
    const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
    return a ? [{ id: a.workflowId ?? '', type: a.workflowType?.name ?? '', at: ms(e) }] : [];
  });
  // A cluster done -> the next cluster's first step begun, and its workflow started (in the lab plan: the
  // canary done -> the wave's first). The first step is the snapshot, a local activity the rollout runs
  // in a workflow task of its own: it begins when that task starts (its marker is recorded when it ends).
  const done = parent.filter((e) => e.childWorkflowExecutionCompletedEventAttributes).map(ms);
  const snapshotTasks: number[] = [];
  let taskStarted = 0;
  for (const e of parent) {
    if (e.workflowTaskStartedEventAttributes) taskStarted = ms(e);
    else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') snapshotTasks.push(taskStarted);
  }
  for (const t of done) {
    const begun = snapshotTasks.find((at) => at >= t);
    if (begun !== undefined && begun - t < 5_000) snapshotGaps.push(begun - t);
    const next = children.find((c) => c.type === 'clusterRollout' && c.at >= t);
    if (next && next.at - t < 5_000) clusterGaps.push(next.at - t);
  }
  for (const child of children.filter((c) => c.type === 'clusterRollout')) {
    const h = await events(child.id);
    h.forEach((e, i) => {
      if (!e.activityTaskCompletedEventAttributes) return;
      const next = h.slice(i + 1).find((x) => x.activityTaskScheduledEventAttributes);
      if (next) stepGaps.push(ms(next) - ms(e));
    });
    // A failed check -> the first step of the rollback that follows it.
    const failed = h.find((e) => e.activityTaskFailedEventAttributes);
    const rollback = children.find((c) => c.type === 'clusterRollback' && c.at >= (failed ? ms(failed) : Infinity));
    if (failed && rollback) {
      const first = (await events(rollback.id)).find((e) => e.activityTaskScheduledEventAttributes);
      if (first) rollbackGaps.push(ms(first) - ms(failed));
    }
  }
}

const good = ['2.1.0', '2.2.0', '2.3.0', '2.4.0', '2.5.0'];
for (let r = 0; r < rounds; r++) {
  const version = good[r % good.length] ?? '2.1.0';
  console.error(`[bench] round ${r + 1}: ${version}, then 2.9.0 (never ready)`);
  await roll(`latency-${r}-ok`, version);
  await roll(`latency-${r}-bad`, '2.9.0');
}

worker.shutdown();
await running;
await close();
await connection.close();
await server.stop();
await lab.labDown(() => undefined);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};
const row = (name: string, xs: number[]) =>
  `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(0)} ms | ${pct(xs, 99).toFixed(0)} ms | ${Math.max(...xs).toFixed(0)} ms |`;
const tableText = [
  '| from -> to | samples | p50 | p99 | max |',
  '| --- | --- | --- | --- | --- |',
  row("a step's activity returned -> the next step scheduled", stepGaps),
  row(
    "a phase's last cluster finished -> the next phase's first cluster's first step (its snapshot) begun",
    snapshotGaps,
  ),
  row("a phase's last cluster finished -> that cluster's workflow started (after its snapshot)", clusterGaps),
  row('a failed verification -> the first step of its rollback scheduled', rollbackGaps),
].join('\n');
const section = `
## Reaction latency on the lab

\`npm run bench:latency\` (BENCH_ROUNDS=${rounds}): the lab plan (3 clusters, gates auto, no bake) rolled ${rounds}
times, each followed by version 2.9.0, which never becomes ready and fails its verification (timeout 15 s)
on the canary, which then rolls back; real Helm, kwok clusters and a dev server, the product's worker.
Read off the histories' event times. Outcomes: ${outcomes.join(', ')}. Measured on
${new Date().toISOString().slice(0, 10)} on this project's standard machine (2 cores).

${tableText}

How quickly an activity notices its condition in the API server is in "How fast waits notice a condition"
above; a condition's whole path to the next step is that plus the first row.
`;
writeSection(join(root, 'docs/benchmarks.md'), '## Reaction latency on the lab', section);
console.log(tableText);
process.exit(0);

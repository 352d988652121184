/**
 * `npm run bench:latency`: how quickly the engine acts on what it observes, on the lab (three kwok clusters,
 * real Helm, a real dev server, the product's worker with its real activities). Rolls the lab plan
 * (gates auto, no bake) several times, each followed by a never-ready version that fails its verification,
 * and reads the histories: from a step's activity returning to the next step being scheduled, from a
 * cluster finishing to the next one's first step (and its workflow) starting, and from a failed check to
 * its rollback's first step. How
 * quickly an activity notices a condition in the API server is `npm run bench`'s figure. Then stopping:
 * one-cluster rollouts on each cluster at once, each aborted at a random moment, and what happened after
 * the abort returned, from Helm's histories and watches on every API server: how long the abort took to
 * answer, how many changes began after it (the goal is none but the rollbacks that restore), and how long
 * the cancellation of an upgrade in flight took to reach Helm (its release marked failed). A benchmark, not
 * a test: it asserts nothing. Writes docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { HelmClient } from '../src/adapters/helm.js';
import { abortUpdate } from '../src/workflows/definitions.js';
import type { RolloutPlan } from '../src/plan/schema.js';
import { loadPlanFile } from '../src/cli/plan-file.js';
import { freePort, startDevServer } from '../src/tools/dev-server.js';
import { createWorker } from '../src/worker/worker.js';
import { ensureTool } from '../src/tools/toolchain.js';
import { writeSection } from './docs.js';
import type { rollout } from '../src/workflows/rollout.js';
import { dataConverter } from '../src/common/payload-codec.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const stopRounds = Number(process.env['BENCH_STOP_ROUNDS'] ?? 8);
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
const client = new Client({ connection, dataConverter });

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
    versions: { operator: plan.spec.release.operator?.version ?? '', chart: chartVersion },
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

// Stopping: aborts at random moments, and what began after each abort returned.
const helm = new HelmClient(process.env['ROLLOUT_HELM'] ?? 'helm', state.kubeconfig);
/** What each API server added or changed, as watched: Jobs (by creation time) and Helm's release Secrets. */
const jobsSeen: { cluster: string; name: string; created: number }[] = [];
const releasesSeen: { cluster: string; release: string; revision: string; status: string; at: number }[] = [];
const watches: AbortController[] = [];
for (const c of state.clusters) {
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  kc.setCurrentContext(`kwok-${c}`);
  type Meta = { metadata?: { name?: string; creationTimestamp?: string; labels?: Record<string, string> } };
  watches.push(
    await new Watch(kc).watch(
      '/apis/batch/v1/jobs',
      {},
      (type, o: Meta) => {
        if (type === 'ADDED') {
          jobsSeen.push({
            cluster: c,
            name: o.metadata?.name ?? '',
            created: Date.parse(o.metadata?.creationTimestamp ?? ''),
          });
        }
      },
      () => undefined,
    ),
    await new Watch(kc).watch(
      '/api/v1/secrets',
      { labelSelector: 'owner=helm' },
      (_type, o: Meta) => {
        const l = o.metadata?.labels ?? {};
        releasesSeen.push({
          cluster: c,
          release: l['name'] ?? '',
          revision: l['version'] ?? '',
          status: l['status'] ?? '',
          at: Date.now(),
        });
      },
      () => undefined,
    ),
  );
}
const answers: number[] = [];
const cancelReach: number[] = [];
const stopOutcomes = new Map<string, number>();
const laterChanges: string[] = [];
const canary = plan.spec.phases[0];
async function abortAtRandom(cluster: string, round: number): Promise<void> {
  const history = async (release: string, ns: string) =>
    (await helm.history(`kwok-${cluster}`, release, ns)).map((r) => ({ ...r, release }));
  const now = [...(await history('express-operator', 'express-system')), ...(await history('express', 'express'))];
  const running = new Set(now.map((r) => r.chartVersion));
  const chartVersion = ['2.1.0', '2.2.0', '2.3.0'].find((v) => !running.has(v)) ?? '2.1.0';
  const operatorVersion = ['1.0.0', '1.1.0', '1.2.0'].find((v) => !running.has(v)) ?? '1.0.0';
  const one: RolloutPlan = {
    ...plan,
    spec: {
      ...plan.spec,
      clusters: plan.spec.clusters.filter((c) => c.name === cluster),
      phases: canary ? [{ ...canary, clusters: [cluster], bake: '0s' }] : [],
    },
  };
  const id = `stop-${round}-${cluster}`;
  const handle = await client.workflow.start<typeof rollout>('rollout', {
    taskQueue,
    workflowId: id,
    args: [{ plan: one, source, versions: { operator: operatorVersion, chart: chartVersion }, startedBy: 'bench' }],
  });
  // Somewhere in the cluster's 15 to 20 s of steps after its start returns (an operator upgrade, its verification, the
  // synchronizer, the cache, the chart's 7 s upgrade with its migration, the verification).
  await new Promise((r) => setTimeout(r, Math.random() * 14_000));
  const sent = Date.now();
  const reply = await handle
    .executeUpdate(abortUpdate, { args: [{ by: 'bench', reason: 'bench: stop' }] })
    .catch(() => undefined); // it may have finished first
  const t = Date.now();
  if (!reply) {
    stopOutcomes.set('finished before the abort', (stopOutcomes.get('finished before the abort') ?? 0) + 1);
    return;
  }
  answers.push(t - sent);
  const result = await handle.result().catch((e: Error) => ({ state: e.message }));
  const step = reply.inFlight?.[0]?.step ?? 'between steps';
  stopOutcomes.set(`${step} -> ${result.state}`, (stopOutcomes.get(`${step} -> ${result.state}`) ?? 0) + 1);
  const after = [...(await history('express-operator', 'express-system')), ...(await history('express', 'express'))]
    .filter((r) => Date.parse(r.updated ?? '') > t && !/^Rollback to \d+$/.test(r.description ?? ''))
    .map((r) => `${cluster} ${r.release} revision ${r.revision}`);
  const nextSecond = Math.floor(t / 1000) * 1000 + 1000;
  after.push(
    ...jobsSeen.filter((j) => j.cluster === cluster && j.created >= nextSecond).map((j) => `${cluster} Job ${j.name}`),
  );
  laterChanges.push(...after);
  // An upgrade in flight: from the abort's answer to Helm marking that revision failed (its process
  // cancelled). Helm records the release it was upgrading as failed when its context is cancelled.
  if (step === 'upgrade-chart' || step === 'upgrade-operator') {
    const release = step === 'upgrade-chart' ? 'express' : 'express-operator';
    const failed = releasesSeen.find(
      (r) => r.cluster === cluster && r.release === release && r.status === 'failed' && r.at >= sent,
    );
    if (failed) cancelReach.push(Math.max(0, failed.at - t));
  }
}
for (let r = 0; r < stopRounds; r++) {
  console.error(`[bench] stop round ${r + 1}: an abort at a random moment on each cluster`);
  await Promise.all(state.clusters.map((c) => abortAtRandom(c, r)));
}
for (const w of watches) w.abort();

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
// BENCH_ROUNDS=0 measures stopping alone, and leaves the section above as it was.
if (rounds > 0) {
  writeSection(join(root, 'docs/benchmarks.md'), '## Reaction latency on the lab', section);
  console.log(tableText);
}

const stopTable = [
  '| what | samples | p50 | p99 | max |',
  '| --- | --- | --- | --- | --- |',
  row('the abort sent -> its answer (the fence in force, the steps in flight listed)', answers),
  row("the abort answered -> Helm's upgrade in flight marked failed (its process cancelled)", cancelReach),
].join('\n');
const stopSection = `
## Stopping on the lab

\`npm run bench:latency\` (BENCH_STOP_ROUNDS=${stopRounds}): after the rounds above, a one-cluster rollout of the lab
plan on each of the 3 clusters at once, each aborted at a random moment up to 14 s after its start returned, ${stopRounds}
times; real Helm, kwok clusters and a dev server, the product's worker. What began after each abort returned
is read from Helm's histories (each revision is stamped as it begins) and from watches on every API server
(Jobs by creation time; Helm's release Secrets as they change). Measured on ${new Date().toISOString().slice(0, 10)}
on this project's standard machine (2 cores).

Changes that began after an abort returned, other than the rollbacks that restore: **${laterChanges.length}**${
  laterChanges.length > 0 ? ` (${laterChanges.join(', ')})` : ''
}. Where each abort landed, and how the rollout ended: ${[...stopOutcomes].map(([k, n]) => `${k}: ${n}`).join('; ')}.

${stopTable}
`;
writeSection(join(root, 'docs/benchmarks.md'), '## Stopping on the lab', stopSection);
console.log(stopTable);
process.exit(0);

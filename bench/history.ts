/**
 * `npm run bench:history`: the size of a rollout's history for a large fleet (every run of it, and what a
 * gate's diff adds), then the fleet check of the same clusters (`rollout fleet`: its history, its result and
 * the CLI reading every row back in pages), on a real dev server with activity doubles (cluster work is not
 * what is measured here). Temporal warns at 10,240 events and 10 MB per history and stops a workflow at
 * 51,200 events or 50 MB. BENCH_CLUSTERS (1000), BENCH_PARALLEL (100: each wave's maxParallel). Writes its
 * section of docs/benchmarks.md.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer } from '../src/tools/dev-server.js';
import { workflowSource } from '../src/worker/worker.js';
import { RolloutWorkers } from '../src/worker/workers.js';
import { rollout } from '../src/workflows/rollout.js';
import { approveUpdate, fleetPageQuery, statusPageQuery, statusQuery } from '../src/workflows/definitions.js';
import { writeSection } from './docs.js';
import { largestPayload, storedSize } from './profile.js';
import { allRows, fleetInput } from '../src/cli/fleet.js';
import { fleetBatchSize, fleetStatus } from '../src/workflows/fleet-status.js';
import { benchInput, instantActivities } from './fleet.js';
import { dataConverter } from '../src/common/payload-codec.js';

const n = Number(process.env['BENCH_CLUSTERS'] ?? 1000);
const parallel = Number(process.env['BENCH_PARALLEL'] ?? 100);
const root = new URL('../', import.meta.url).pathname;
Runtime.install({ logger: new DefaultLogger('ERROR') });

const server = await startDevServer({ ui: false });
// A page of a 10,000-cluster rollout's history is larger than gRPC's default 4 MB answer.
const connection = await Connection.connect({
  address: server.address,
  channelArgs: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
});
const client = new Client({ connection, dataConverter });
const native = await NativeConnection.connect({ address: server.address });
const names = Array.from({ length: n }, (_, i) => `c${i + 1}`);
const worker = await RolloutWorkers.create({
  connection: native,
  dataConverter,
  taskQueue: 'bench',
  ...workflowSource(),
  activities: instantActivities(client),
  maxConcurrentWorkflowTaskExecutions: 50,
});
const running = worker.run();

const canary = Math.max(1, Math.round(n / 100));
const input = benchInput([
  { name: 'canary', clusters: names.slice(0, canary) },
  { name: 'wave-1', clusters: names.slice(canary, Math.round(n / 2)), maxParallel: parallel, approval: 'required' },
  { name: 'wave-2', clusters: names.slice(Math.round(n / 2)), maxParallel: parallel, approval: 'required' },
]);
const t0 = Date.now();
const handle = await client.workflow.start(rollout, { taskQueue: 'bench', workflowId: `bench-${n}`, args: [input] });
// Both waves have gates: each computes its diff (twice: at the gate, and again before the phase starts).
const approved = new Set<string>();
let statusBytes = 0; // what a control's reply was before replies were cut to the decision and state
let pageBytes = 0; // what `rollout status` asks for instead: the phases, counts and a page of clusters
let result;
for (;;) {
  const done = await Promise.race([
    handle.result(),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
  ]);
  if (done) {
    result = done;
    break;
  }
  // What the CLI reads: the phases and counts, with a page of the clusters that need eyes.
  const page = await handle.query(statusPageQuery, { attention: true });
  pageBytes = Math.max(pageBytes, Buffer.byteLength(JSON.stringify(page)));
  for (const p of page.status.phases.filter(
    (x) => x.state === 'awaiting-approval' && x.diff && !approved.has(x.name),
  )) {
    approved.add(p.name);
    // The whole status, once per gate, for the record (past a few thousand clusters it is refused).
    const status = await handle.query(statusQuery).catch(() => undefined);
    statusBytes = Math.max(statusBytes, status ? Buffer.byteLength(JSON.stringify(status)) : 0);
    await handle.executeUpdate(approveUpdate, { args: [{ phase: p.name, by: 'bench', digest: p.diff?.digest }] });
  }
}
const seconds = (Date.now() - t0) / 1000;
// Every run of the rollout: it continues as new when its history nears its budget (past about 2,000 clusters).
const runIds: string[] = [];
for await (const w of client.workflow.list({ query: `WorkflowId = 'bench-${n}'` })) runIds.push(w.runId);
const runs = await Promise.all(
  runIds.map(async (r) => await client.workflow.getHandle(`bench-${n}`, r).fetchHistory()),
);
const allEvents = runs.flatMap((h) => h.events ?? []);
const events = allEvents.length;
const longestRun = Math.max(...runs.map((h) => h.events?.length ?? 0));
const bytes = runs.reduce((sum, h) => sum + Buffer.byteLength(historyToJSON(h)), 0);
const serverBytes = runs.reduce((sum, h) => sum + storedSize(h.events ?? []), 0);
const largestStored = Math.max(0, ...allEvents.map((e) => largestPayload(e)));
const child = await client.workflow.getHandle(`bench-${n}:c1`).fetchHistory();
// What the gates cost: the diff activities' events and payloads, and the approvals (updates).
const diffIds = new Set(
  allEvents
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'diffClusters')
    .map((e) => String(e.eventId)),
);
const gateEventList = allEvents.filter(
  (e) =>
    diffIds.has(String(e.eventId)) ||
    diffIds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '')) ||
    diffIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '')),
);
const gateEvents = gateEventList.length / 2; // per gate
const gateBytes = Buffer.byteLength(historyToJSON({ events: gateEventList })) / 2;
const gatePayload = Math.max(0, ...gateEventList.map((e) => largestPayload(e)));
const approvalEventList = allEvents.filter(
  (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateCompletedEventAttributes,
);
const approvalEvents = approvalEventList.length;
const replies = approvalEventList.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes);
const replyBytes = Math.max(
  ...replies.map(
    (e) => e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads?.[0]?.data?.length ?? 0,
  ),
);

// The fleet check of the same clusters, as `rollout fleet` starts it and reads it (the CLI's own input and
// paging), with a readFleet double answering rows as long as real ones; the worker's process is this one.
let rssPeak = 0;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 100);
const rssBefore = process.memoryUsage.rss();
const f0 = Date.now();
const fleet = await client.workflow.start(fleetStatus, {
  taskQueue: 'bench',
  workflowId: `bench-fleet-${n}`,
  args: [fleetInput(input.plan, input.source)],
});
const report = await fleet.result();
const fleetSeconds = (Date.now() - f0) / 1000;
const p0 = Date.now();
const rows = await allRows(fleet, report.total);
const pageSeconds = (Date.now() - p0) / 1000;
clearInterval(sampler);
if (rows.length !== n || rows.some((r, i) => r.cluster !== names[i])) {
  throw new Error(`the fleet check's pages gave ${rows.length} rows, not the ${n} clusters in order`);
}
const fleetHistory = (await fleet.fetchHistory()).events ?? [];
const fleetPayload = Math.max(0, ...fleetHistory.map((e) => largestPayload(e)));
const firstPage = await fleet.query(fleetPageQuery, { offset: 0 });
const fleetReads = fleetHistory.filter((e) => e.activityTaskScheduledEventAttributes).length;
const fleetServerBytes = storedSize(fleetHistory);

worker.shutdown();
await running;
await native.close();
await connection.close();
await server.stop();

const kB = (b: number) => `${(b / 1e3).toFixed(1)} kB`;
const section = `
## History size for a large fleet

\`npm run bench:history\` (BENCH_CLUSTERS=${n}${parallel !== 100 ? ` BENCH_PARALLEL=${parallel}` : ''}): one rollout of ${n} clusters in three phases (maxParallel ${parallel})
on a dev server with activity doubles, both waves behind an approval gate with its diff (each gate diffs its
clusters twice: when reached, and again right before the phase starts); outcome **${result.state}** in
${seconds.toFixed(0)} s (including the benchmark's own approvals, polled every 0.5 s). Then the fleet check of
the same ${n} clusters, as \`rollout fleet\` starts and reads it. Measured on ${new Date().toISOString().slice(0, 10)}.

| history | events | size (JSON) | size (the server's count) | largest payload as stored |
| --- | --- | --- | --- | --- |
| parent \`rollout\`, every run | ${events} (${(events / n).toFixed(1)} per cluster) in ${runs.length} run(s), the longest ${longestRun} | ${(bytes / 1e6).toFixed(2)} MB | ${(serverBytes / 1e6).toFixed(2)} MB | ${kB(largestStored)} |
| one \`clusterRollout\` child | ${child.events?.length ?? 0} | ${kB(Buffer.byteLength(historyToJSON(child)))} | ${kB(storedSize(child.events ?? []))} | ${kB(Math.max(0, ...(child.events ?? []).map((e) => largestPayload(e))))} |
| a gate's diffs (${Math.round(n / 2)} clusters) | ${gateEvents} | ${kB(gateBytes)} | | ${kB(gatePayload)} |
| the fleet check (\`fleetStatus\`) | ${fleetHistory.length} (${fleetReads} reads of ${fleetBatchSize} clusters) | ${kB(Buffer.byteLength(historyToJSON({ events: fleetHistory })))} | ${kB(fleetServerBytes)} | ${kB(fleetPayload)} |

Temporal's limits are 51,200 events and 50 MB per history (warnings at 10,240 events and 10 MB; the SDK warns
of a payload over 512 kB); a rollout continues as new before its history reaches 9,000 events. The JSON
size overstates the server's (payloads are base64 in JSON; the server's count is the \`historySizeBytes\` it
reports at the last workflow task); payloads over 64 kB are stored compressed. Per
cluster the parent holds: the cluster child's start and completion (3 events), its snapshot (a local
activity's marker, 1), and its share of workflow tasks; the clusters are taken from the lock registry and
given back in one activity each (3 events each, whatever the fleet's size). A gate's diffs add
${gateEvents} events for its ${Math.round(n / 2)} clusters: the activity's input names each cluster (name, kube context,
overlay) and its result names each cluster once in its group, with digests and counts only: never diff
text, so this grows by the same small amount per cluster whatever the diffs' size. The approvals add
${approvalEvents} events; each approval's reply (its decision and the state it left) is a payload of ${replyBytes} bytes, where
the whole status${statusBytes > 0 ? ` it used to return was ${kB(statusBytes)} of JSON at ${n} clusters, kept in history once per control` : ` (the \`status\` query) is refused at ${n} clusters: over Temporal's 2 MB cap on an answer`}.
\`rollout status\` and \`watch\` read the \`status-page\` query instead: the phases with their counts and at most
500 clusters (those in flight or failed, for the table; page after page for \`-o json\`), at most
${kB(pageBytes)} here.

The fleet check of ${n} clusters: **${fleetSeconds.toFixed(1)} s** to its result (${fleetReads} reads of ${fleetBatchSize} clusters, 2 at a
time, each answered at once by the double: the time is the engine's), its result ${kB(Buffer.byteLength(JSON.stringify(report)))}
as JSON (counts and the ${report.rows.length} clusters not in sync it names, at most 200), then every row read back by the CLI's
own paging, ${Math.ceil(n / 1000)} \`fleet-page\` queries of at most 1,000 rows (${kB(Buffer.byteLength(JSON.stringify(firstPage)))} each), in ${pageSeconds.toFixed(1)} s; the
process holding the worker and the client (and the worker's cache of the rollout just run) grew by ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB at the most during it.
Earlier designs, for 1,000 clusters: a lock workflow per cluster, started by the rollout and
terminated when it closed, and a snapshot signal from each child: 7,342 events and 7.24 MB; locks
released by signal and the snapshot repeated in the child's result: 11,013 events and 9.33 MB.
`;
writeSection(join(root, 'docs/benchmarks.md'), '## History size for a large fleet', section);
console.log(section);
process.exit(0);

/**
 * `npm run bench:history`: the size of a rollout's history for a large fleet, on a real dev server with
 * activity doubles (cluster work is not what is measured here). Temporal warns at 10,240 events and
 * 10 MB per history and stops a workflow at 51,200 events or 50 MB. Appends to docs/benchmarks.md.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer } from '../src/tools/dev-server.js';
import { workflowSource } from '../src/worker/worker.js';
import { RolloutWorkers } from '../src/worker/workers.js';
import { rollout } from '../src/workflows/rollout.js';
import { approveUpdate, statusPageQuery, statusQuery } from '../src/workflows/definitions.js';
import { writeSection } from './docs.js';
import { benchInput, instantActivities } from './fleet.js';
import { dataConverter } from '../src/common/payload-codec.js';

const n = Number(process.env['BENCH_CLUSTERS'] ?? 1000);
const root = new URL('../', import.meta.url).pathname;
Runtime.install({ logger: new DefaultLogger('ERROR') });

const server = await startDevServer({ ui: false });
const connection = await Connection.connect({ address: server.address });
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
  { name: 'wave-1', clusters: names.slice(canary, Math.round(n / 2)), maxParallel: 100, approval: 'required' },
  { name: 'wave-2', clusters: names.slice(Math.round(n / 2)), maxParallel: 100, approval: 'required' },
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
const history = await handle.fetchHistory();
const events = history.events?.length ?? 0;
const bytes = Buffer.byteLength(historyToJSON(history));
const child = await client.workflow.getHandle(`bench-${n}:c1`).fetchHistory();
// What the gates cost: the diff activities' events and payloads, and the approvals (updates).
const diffIds = new Set(
  (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'diffClusters')
    .map((e) => String(e.eventId)),
);
const gateEventList = (history.events ?? []).filter(
  (e) =>
    diffIds.has(String(e.eventId)) ||
    diffIds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '')) ||
    diffIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '')),
);
const gateEvents = gateEventList.length / 2; // per gate
const gateBytes = Buffer.byteLength(historyToJSON({ events: gateEventList })) / 2;
const approvalEventList = (history.events ?? []).filter(
  (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateCompletedEventAttributes,
);
const approvalEvents = approvalEventList.length;
const replies = approvalEventList.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes);
const replyBytes = Math.max(
  ...replies.map(
    (e) => e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads?.[0]?.data?.length ?? 0,
  ),
);

worker.shutdown();
await running;
await native.close();
await connection.close();
await server.stop();

const section = `
## History size for a large fleet

\`npm run bench:history\` (BENCH_CLUSTERS=${n}): one rollout of ${n} clusters in three phases (maxParallel 100)
on a dev server with activity doubles, both waves behind an approval gate with its diff (each gate diffs its
clusters twice: when reached, and again right before the phase starts); outcome **${result.state}** in
${seconds.toFixed(0)} s (including the benchmark's own approvals, polled every 0.5 s).

| history | events | size (JSON) |
| --- | --- | --- |
| parent \`rollout\` | ${events} (${(events / n).toFixed(1)} per cluster) | ${(bytes / 1e6).toFixed(2)} MB |
| one \`clusterRollout\` child | ${child.events?.length ?? 0} | ${(Buffer.byteLength(historyToJSON(child)) / 1e3).toFixed(1)} kB |

Temporal's limits are 51,200 events and 50 MB per history (warnings at 10,240 events and 10 MB). The JSON
size overstates the server's (payloads are base64 in JSON). Per cluster the parent holds: the cluster
child's start and completion (3 events), its snapshot (a local activity's marker, 1), and its share of
workflow tasks; the clusters are taken from the lock registry and given back in one activity each (3
events each, whatever the fleet's size). A gate's diffs add ${gateEvents} events and ${(gateBytes / 1e3).toFixed(0)} kB for its
${Math.round(n / 2)} clusters: the activity's input names each cluster (name, kube context, overlay) and its
result names each cluster once in its group, with digests and counts only: never diff text, so this grows by
the same small amount per cluster whatever the diffs' size. The approvals add ${approvalEvents} events; each
approval's reply (its decision and the state it left) is a payload of ${replyBytes} bytes, where the whole
status it used to return was ${(statusBytes / 1e3).toFixed(0)} kB of JSON at ${n} clusters, kept in history once per control.
\`rollout status\` and \`watch\` read the \`status-page\` query instead: the phases with their counts and at most
500 clusters (those in flight or failed, for the table; page after page for \`-o json\`), at most
${(pageBytes / 1e3).toFixed(0)} kB here, where the whole status (the \`status\` query) was ${(statusBytes / 1e3).toFixed(0)} kB.
Earlier designs, for the same 1,000 clusters: a lock workflow per cluster, started by the rollout and
terminated when it closed, and a snapshot signal from each child: 7,342 events and 7.24 MB; locks
released by signal and the snapshot repeated in the child's result: 11,013 events and 9.33 MB.
`;
writeSection(join(root, 'docs/benchmarks.md'), '## History size for a large fleet', section);
console.log(section);
process.exit(0);

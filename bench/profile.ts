/**
 * Where an orchestration's time goes, per workflow type, read back from the histories the server kept:
 * how many workflow tasks each type took, how long the worker held them (started -> completed) and how
 * long they waited to be picked up (scheduled -> started), and how many events and activities each
 * type put on the server. Histories are facts the run left behind, so this profiles the run measured,
 * not a second one.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

export interface TypeProfile {
  type: string;
  workflows: number;
  events: number;
  workflowTasks: number;
  /** Sum over the type's workflow tasks of started -> completed: the worker's share. */
  taskMs: number;
  /** Sum of scheduled -> started: time a task waited for a poller (server, matching, worker busy). */
  queueMs: number;
  activities: number;
  localActivities: number;
  /** From the worker's metrics (see activationTimes): workflow tasks run and the time from receipt to completion. */
  activations?: number;
  activationMs?: number;
  /** The longest history of the type, in events (Temporal warns at 10,240). */
  maxEvents: number;
  /** The largest payload any of its events holds, in bytes as stored (after the codec; Temporal warns at 512 kB). */
  maxPayloadBytes: number;
}

/** A history's size as the server counts it: the `historySizeBytes` it reports at the last workflow task. */
export function storedSize(
  events: readonly { workflowTaskStartedEventAttributes?: { historySizeBytes?: unknown } | null }[],
): number {
  return Math.max(0, ...events.map((e) => Number(e.workflowTaskStartedEventAttributes?.historySizeBytes ?? 0)));
}

/** The largest payload within an event (inputs, results, details, memos, headers): bytes as stored. */
export function largestPayload(value: unknown, depth = 0): number {
  if (!value || typeof value !== 'object' || depth > 12) return 0;
  if (value instanceof Uint8Array) return 0;
  const o = value as Record<string, unknown>;
  if (o['data'] instanceof Uint8Array && o['metadata'] && typeof o['metadata'] === 'object') {
    const meta = Object.values(o['metadata'] as Record<string, unknown>).reduce<number>(
      (n, v) => n + (v instanceof Uint8Array ? v.length : 0),
      0,
    );
    return o['data'].length + meta;
  }
  let max = 0;
  for (const v of Object.values(o)) max = Math.max(max, largestPayload(v, depth + 1));
  return max;
}

const empty = (type: string): TypeProfile => ({
  type,
  workflows: 0,
  events: 0,
  workflowTasks: 0,
  taskMs: 0,
  queueMs: 0,
  activities: 0,
  localActivities: 0,
  maxEvents: 0,
  maxPayloadBytes: 0,
});

const ms = (e: Event | undefined) => {
  const t = e?.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;
};

/** Reads every workflow that `query` lists (closed ones too), `concurrency` histories at a time. */
export async function profileHistories(client: Client, query: string, concurrency = 10): Promise<TypeProfile[]> {
  const runs: { workflowId: string; runId: string; type: string }[] = [];
  const seen = new Set<string>();
  for await (const w of client.workflow.list({ query })) {
    if (!seen.has(w.runId)) runs.push({ ...w, type: w.type });
    seen.add(w.runId);
  }
  const byType = new Map<string, TypeProfile>();
  let next = 0;
  const lane = async () => {
    while (next < runs.length) {
      const run = runs[next++] as (typeof runs)[number];
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      const p = byType.get(run.type) ?? byType.set(run.type, empty(run.type)).get(run.type)!;
      const events = history.events ?? [];
      p.workflows++;
      p.events += events.length;
      p.maxEvents = Math.max(p.maxEvents, events.length);
      const byId = new Map(events.map((e) => [Number(e.eventId), e]));
      for (const e of events) {
        p.maxPayloadBytes = Math.max(p.maxPayloadBytes, largestPayload(e));
        if (e.activityTaskScheduledEventAttributes) p.activities++;
        if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') p.localActivities++;
        const started = e.workflowTaskStartedEventAttributes;
        if (started) {
          p.workflowTasks++;
          p.queueMs += ms(e) - ms(byId.get(Number(started.scheduledEventId)));
        }
        const done = e.workflowTaskCompletedEventAttributes ?? e.workflowTaskFailedEventAttributes;
        if (done) p.taskMs += ms(e) - ms(byId.get(Number(done.startedEventId)));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return [...byType.values()].sort((a, b) => b.taskMs - a.taskMs);
}

/**
 * The worker's own account, from the SDK's Prometheus metrics: per workflow type, how many workflow tasks
 * ran and the time from receiving each to completing it (`workflow_task_execution_latency`): the part of a
 * workflow task that is the worker's code, without the queues before it. Cumulative: subtract two scrapes.
 */
export async function activationTimes(metricsUrl: string): Promise<Map<string, { count: number; ms: number }>> {
  const text = await (await fetch(metricsUrl)).text();
  const out = new Map<string, { count: number; ms: number }>();
  for (const m of text.matchAll(/^temporal_workflow_task_execution_latency_(sum|count)\{([^}]*)\} ([\d.e+]+)$/gm)) {
    const type = /workflow_type="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? '?';
    const t = out.get(type) ?? out.set(type, { count: 0, ms: 0 }).get(type)!;
    if (m[1] === 'sum') t.ms += Number(m[3]);
    else t.count += Number(m[3]);
  }
  return out;
}

/** What `after` holds more than `before`, per workflow type. */
export function since(
  after: Map<string, { count: number; ms: number }>,
  before: Map<string, { count: number; ms: number }>,
): Map<string, { count: number; ms: number }> {
  return new Map(
    [...after].map(([k, v]) => [
      k,
      { count: v.count - (before.get(k)?.count ?? 0), ms: v.ms - (before.get(k)?.ms ?? 0) },
    ]),
  );
}

/** A Markdown table of the profiles, a row per workflow type and one for all of them. */
export function profileTable(
  histories: TypeProfile[],
  activations: Map<string, { count: number; ms: number }>,
): string {
  const rows = histories
    .map((r) => ({
      ...r,
      activations: activations.get(r.type)?.count ?? 0,
      activationMs: activations.get(r.type)?.ms ?? 0,
    }))
    .sort((a, b) => b.activationMs - a.activationMs);
  const total = rows.reduce(
    (t, r) => ({
      ...t,
      workflows: t.workflows + r.workflows,
      events: t.events + r.events,
      workflowTasks: t.workflowTasks + r.workflowTasks,
      taskMs: t.taskMs + r.taskMs,
      queueMs: t.queueMs + r.queueMs,
      activities: t.activities + r.activities,
      localActivities: t.localActivities + r.localActivities,
      activations: t.activations + r.activations,
      activationMs: t.activationMs + r.activationMs,
      maxEvents: Math.max(t.maxEvents, r.maxEvents),
      maxPayloadBytes: Math.max(t.maxPayloadBytes, r.maxPayloadBytes),
    }),
    { ...empty('all'), activations: 0, activationMs: 0 },
  );
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const line = (r: (typeof rows)[number]) =>
    `| ${r.type} | ${r.workflows} | ${r.events} | ${r.workflowTasks} | ${r.activations} | ${s(r.activationMs)} | ${s(r.taskMs)} | ${s(r.queueMs)} | ${r.activities} | ${r.localActivities} | ${r.maxEvents} | ${(r.maxPayloadBytes / 1024).toFixed(1)} kB |`;
  return [
    '| workflow type | workflows | events | workflow tasks | tasks run on the worker | worker time in them | started -> completed, as the server saw it | scheduled -> started (waiting) | activities | local activities | longest history (events) | largest payload stored |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(line),
    line(total),
  ].join('\n');
}

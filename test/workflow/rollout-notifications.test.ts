/**
 * Notifications, delivered by the real activity to real HTTP receivers on loopback: the events a rollout
 * emits, CloudEvents and Slack shapes, stable IDs across redelivery, a sink that is down holding nothing
 * back, and sink URLs never in history.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationActivities } from '../../src/adapters/webhooks.js';
import { freePort } from '../../src/tools/dev-server.js';
import { approveUpdate, retryUpdate } from '../../src/workflows/definitions.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { TemporalTestEnv, waitForStatus } from '../helpers/temporal.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** An HTTP receiver that records what it is sent; `failFirst` answers 503 to the first delivery of each event. */
async function receiver(failFirst = false): Promise<{ url: string; got: Received[]; close: () => void }> {
  const got: Received[] = [];
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      got.push({ headers: req.headers, body });
      const id = String(body['id'] ?? body['text']);
      const refuse = failFirst && !seen.has(id);
      seen.add(id);
      res.writeHead(refuse ? 503 : 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/T0KEN-secret`, got, close: () => server.close() };
}

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await TemporalTestEnv.create();
});
afterAll(async () => {
  await env?.close();
});

describe('notifications', () => {
  it('tells each sink what it subscribed to, once per occurrence with a stable ID, and a sink that is down holds nothing back', async () => {
    const x = `n${randomBytes(3).toString('hex')}`;
    const [c1, c2] = [`${x}-c1`, `${x}-c2`];
    const hooks = await receiver(true); // the first delivery of each event fails: it is delivered again
    const slack = await receiver();
    const down = `http://127.0.0.1:${await freePort()}/nobody-listens`;
    const fleet = new FakeFleet([c1, c2]);
    fleet.fail(c2, 'verify-chart', 1);
    const urls = { ROLLOUT_SINK_HOOK: hooks.url, ROLLOUT_SINK_SLACK: slack.url, ROLLOUT_SINK_DOWN: down };
    await env.startWorker({ ...fleet.activities(), ...createNotificationActivities({ env: urls }) });
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2], approval: 'required' },
        ],
        {
          onFailure: { action: 'pause' },
          notifications: {
            sinks: [
              {
                name: 'hooks',
                type: 'webhook',
                urlFrom: { env: 'ROLLOUT_SINK_HOOK' },
                events: ['approval-needed', 'cluster-failed', 'waiting-for-decision', 'phase-done', 'succeeded'],
              },
              { name: 'slack', type: 'slack', urlFrom: { env: 'ROLLOUT_SINK_SLACK' } },
              { name: 'pager', type: 'webhook', urlFrom: { env: 'ROLLOUT_SINK_DOWN' } },
            ],
          },
        },
      ),
    );
    await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice' }] });
    await waitForStatus(handle, (s) => s.state === 'awaiting-decision');
    await handle.executeUpdate(retryUpdate, { args: [{ cluster: c2, by: 'alice' }] });
    expect((await handle.result()).state).toBe('succeeded');

    // Delivery goes on after the rollout: wait for the receivers, not for the rollout.
    const types = [
      'phase-done',
      'approval-needed',
      'cluster-failed',
      'waiting-for-decision',
      'phase-done',
      'succeeded',
    ];
    const deadline = Date.now() + 30_000;
    const unique = () => new Map(hooks.got.map((r) => [r.body['id'], r.body]));
    while (hooks.got.length < types.length * 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const events = [...unique().values()].sort((a, b) =>
      String(a['id']).localeCompare(String(b['id']), 'en', { numeric: true }),
    );
    expect(events.map((e) => String(e['type']).replace('dev.phased-rollout.', ''))).toEqual(types);
    const thisRun = (await handle.describe()).runId;
    expect(events.map((e) => e['id'])).toEqual(types.map((_, i) => `${handle.workflowId}/${thisRun}/${i + 1}`));
    const approval = events[1] as { specversion: string; subject: string; data: { diff: string[]; phase: string } };
    expect(approval).toMatchObject({ specversion: '1.0', subject: 'wave', datacontenttype: 'application/json' });
    expect(approval.data.diff[0]).toMatch(/^diff \w{12}: 1 distinct$/);
    expect(hooks.got[0]?.headers['content-type']).toBe('application/cloudevents+json');
    // Each event was refused once and delivered again: twice each, with the same ID and the same content.
    expect(hooks.got).toHaveLength(types.length * 2);
    for (const [id, body] of unique()) {
      expect(
        hooks.got.filter((r) => r.body['id'] === id).every((r) => JSON.stringify(r.body) === JSON.stringify(body)),
      ).toBe(true);
    }

    // Slack hears the defaults (no phase-done), as {text}.
    while (slack.got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // Deliveries run side by side, so they may arrive in any order; the webhook's IDs carry the order.
    expect(slack.got.map((r) => /^\*([a-z-]+)\*/.exec(String(r.body['text']))?.[1]).sort()).toEqual([
      'approval-needed',
      'cluster-failed',
      'succeeded',
      'waiting-for-decision',
    ]);

    // The sink that is down is still being retried after the rollout ended; it held nothing back.
    // Delivery workflows are named by the rollout, its run and the event's ordinal.
    const pager = env.client.workflow.getHandle(`${handle.workflowId}:notify:${thisRun}:1`);
    expect((await pager.describe()).status.name).toBe('COMPLETED'); // phase-done: pager does not subscribe to it
    const stuck = env.client.workflow.getHandle(`${handle.workflowId}:notify:${thisRun}:6`);
    expect((await stuck.describe()).status.name).toBe('RUNNING');
    await stuck.terminate('test over');

    // The URLs (with their tokens) never entered a history: not the rollout's, not a delivery's.
    for (const id of [handle.workflowId, `${handle.workflowId}:notify:${thisRun}:2`]) {
      // Payloads are JSON text as bytes (base64 here): decode them, so the search sees what they say.
      const history = JSON.stringify(await env.client.workflow.getHandle(id).fetchHistory(), (k, v: unknown) =>
        k === 'data' && typeof v === 'string'
          ? Buffer.from(v, 'base64').toString('utf8')
          : v instanceof Uint8Array
            ? Buffer.from(v).toString('utf8')
            : v,
      );
      expect(history).toContain(id.endsWith(':notify:2') ? 'approval-needed' : 'ROLLOUT_SINK_HOOK');
      expect(history).not.toContain('T0KEN');
      expect(history).not.toContain('nobody-listens');
    }
    hooks.close();
    slack.close();
  });
  it('delivers an event whose delivery a worker was stopped in the middle of, again with the same ID, and loses none', async () => {
    const x = `k${randomBytes(3).toString('hex')}`;
    const [c1, c2] = [`${x}-c1`, `${x}-c2`];
    // The first delivery of "approval-needed" is held open: the worker goes down while it is in flight.
    const got: Record<string, unknown>[] = [];
    let held: (() => void) | undefined;
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        got.push(body);
        if (body['type'] === 'dev.phased-rollout.approval-needed' && !held) held = () => res.destroy();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const fleet = new FakeFleet([c1, c2]);
    const activities = () => ({
      ...fleet.activities(),
      ...createNotificationActivities({ env: { ROLLOUT_SINK_HOOK: url } }),
    });
    const worker = await env.startWorker(activities());
    const handle = await env.start(
      testInput(
        [
          { name: 'canary', clusters: [c1], approval: 'auto' },
          { name: 'wave', clusters: [c2], approval: 'required' },
        ],
        {
          notifications: {
            sinks: [
              {
                name: 'hooks',
                type: 'webhook',
                urlFrom: { env: 'ROLLOUT_SINK_HOOK' },
                events: ['approval-needed', 'succeeded'],
              },
            ],
          },
        },
      ),
    );
    const deadline = Date.now() + 30_000;
    while (!held && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(held, 'the approval-needed delivery reached the receiver').toBeDefined();
    await env.stopWorker(worker); // the delivery is in flight: its activity is cancelled with the worker
    held?.();
    await env.startWorker(activities());
    await waitForStatus(handle, (s) => s.state === 'awaiting-approval');
    await handle.executeUpdate(approveUpdate, { args: [{ phase: 'wave', by: 'alice' }] });
    expect((await handle.result()).state).toBe('succeeded');

    const approvals = () => got.filter((b) => b['type'] === 'dev.phased-rollout.approval-needed');
    const until = Date.now() + 60_000;
    while ((approvals().length < 2 || new Set(got.map((b) => b['id'])).size < 2) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(approvals().length, 'delivered again after the worker went down').toBeGreaterThanOrEqual(2);
    expect(new Set(approvals().map((b) => JSON.stringify(b))).size, 'the same event, the same ID').toBe(1);
    // Once per occurrence for a receiver that drops repeated IDs: each event, none lost.
    const unique = [...new Map(got.map((b) => [b['id'], b['type']])).entries()];
    const run = (await handle.describe()).runId;
    expect(unique).toEqual([
      [`${handle.workflowId}/${run}/1`, 'dev.phased-rollout.approval-needed'],
      [`${handle.workflowId}/${run}/2`, 'dev.phased-rollout.succeeded'],
    ]);
    server.close();
  });
});

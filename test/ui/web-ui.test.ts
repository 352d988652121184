/**
 * The Temporal Web UI as a person uses it, in a real browser (Debian's headless Chromium, driven by
 * playwright-core): a rollout waiting at its gate is approved through "Send an Update", whose dialog
 * lists every update with what to send. A dev server with its UI of its own; the fleet is doubled. The workflow page keeps long polls open: waits are on elements.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodecServer } from '../../src/client/codec-server.js';
import { createRegistryActivities } from '../../src/client/registries.js';
import { ensureDebianTool } from '../../src/tools/debian.js';
import { freePort, startDevServer, type DevServer } from '../../src/tools/dev-server.js';
import { isLoopback, listeners } from '../../lab/listeners.js';
import { lockRegistryId, statusQuery } from '../../src/workflows/definitions.js';
import { workflowSource } from '../../src/worker/worker.js';
import { RolloutWorkers } from '../../src/worker/workers.js';
import { FakeFleet } from '../helpers/fake-activities.js';
import { testInput } from '../helpers/plans.js';
import { waitForStatus } from '../helpers/temporal.js';
import { dataConverter, zlibEncoding } from '../../src/common/payload-codec.js';

let server: DevServer;
let connection: Connection;
let client: Client;
let native: NativeConnection;
let worker: RolloutWorkers;
let running: Promise<unknown>;
let browser: Browser;
const taskQueue = `ui-${randomUUID()}`;
// A rollout large enough that its input travels compressed (over compressAbove as JSON).
const bigNames = Array.from({ length: 1_500 }, (_, i) => `ui-big-c${i + 1}`);
const fleet = new FakeFleet(['ui-c1', 'ui-c2', ...bigNames]);
let codec: Awaited<ReturnType<typeof startCodecServer>>;

beforeAll(async () => {
  codec = await startCodecServer('127.0.0.1', 0);
  server = await startDevServer({ port: await freePort(), uiPort: await freePort(), codecEndpoint: codec.url });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, dataConverter });
  native = await NativeConnection.connect({ address: server.address });
  worker = await RolloutWorkers.create({
    connection: native,
    dataConverter,
    taskQueue,
    ...workflowSource(),
    activities: { ...fleet.activities(), ...createRegistryActivities(client) },
  });
  running = worker.run();
  browser = await chromium.launch({
    executablePath: await ensureDebianTool('chromium'),
    // As root, and with no network beyond loopback: no sandbox, no background connections.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  worker?.shutdown();
  await running;
  await native?.close();
  await connection?.close();
  await server?.stop();
  await codec?.close();
});

/** Opens a workflow's page (a rollout's, or a helper's) and waits until it has rendered. */
async function openRollout(page: Page, id: string): Promise<void> {
  await page.goto(`${server.uiUrl}/namespaces/default/workflows/${id}`);
  await page.getByRole('button', { name: /More Actions/ }).waitFor({ timeout: 30_000 });
}

describe('the Temporal Web UI', { timeout: 120_000 }, () => {
  it('is served, with the dev server, on loopback only', () => {
    const port = Number(new URL(server.uiUrl ?? '').port);
    const found = listeners((command) => command.includes('start-dev') && command.includes(`--ui-port ${port}`));
    expect(found.map((l) => l.port)).toContain(port);
    expect(found.filter((l) => !isLoopback(l.address)).map((l) => `${l.address}:${l.port}`)).toEqual([]);
  });

  it('approves a gate through "Send an Update", whose dialog says what each update takes', async () => {
    const id = `rollout-ui-${randomUUID().slice(0, 8)}`;
    await client.workflow.start('rollout', {
      taskQueue,
      workflowId: id,
      args: [
        testInput([
          { name: 'canary', clusters: ['ui-c1'], approval: 'auto' },
          { name: 'wave', clusters: ['ui-c2'], approval: 'required' },
        ]),
      ],
    });
    const handle = client.workflow.getHandle(id);
    await waitForStatus(handle, (s) => s.state === 'awaiting-approval');

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // The README's saved query lists rollouts only, not the lock and cluster workflows beside them.
    const query = `WorkflowType = 'rollout' AND RolloutState = 'awaiting-approval' AND ExecutionStatus = 'Running'`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    await page.getByRole('link', { name: id }).first().waitFor({ timeout: 30_000 });
    const registry = lockRegistryId(taskQueue);
    await expect.poll(() => page.getByText(registry).count()).toBe(0);
    // Who holds which cluster: the lock registry's page says, in its current details.
    await openRollout(page, registry);
    await page.getByText('User Metadata', { exact: true }).first().click();
    await expect
      .poll(() => page.frameLocator('iframe[title="output"]').locator('li').first().innerText(), { timeout: 30_000 })
      .toBe(`${id}: 2 clusters (ui-c1, ui-c2)`);

    await openRollout(page, id);
    // The current details (under User Metadata, in a frame of fixed height): the state and why, with the
    // command as typed (a code span keeps "--phase" from becoming an en dash), and every phase's row, whole.
    await page.getByText('User Metadata', { exact: true }).first().click();
    const details = page.frameLocator('iframe[title="output"]');
    await expect
      .poll(() => details.locator('code').first().innerText(), { timeout: 30_000 })
      .toBe(`rollout approve ${id} --phase wave`);
    expect(await details.locator('strong').first().innerText()).toBe('awaiting-approval');
    expect(await details.locator('tbody tr').allInnerTexts()).toEqual([
      'canary\tsucceeded\tui-c1: succeeded',
      'wave\tawaiting-approval\tui-c2: pending',
    ]);
    // Evaluated in the frame: where the phase table ends against the frame's height (no DOM types here).
    type Doc = { getBoundingClientRect(): { bottom: number }; ownerDocument: { defaultView: { innerHeight: number } } };
    const heights = () =>
      details
        .locator('table')
        .evaluate((table: Doc) => [
          Math.ceil(table.getBoundingClientRect().bottom),
          table.ownerDocument.defaultView.innerHeight,
        ]);
    // The UI sizes the frame once its page has loaded: wait for that, then nothing may stick out.
    await expect
      .poll(
        async () => {
          const [content = 0, frame = 0] = await heights();
          return `phase table ends at ${content} px in a frame of ${frame} px: ${content <= frame ? 'whole' : 'cut off'}`;
        },
        { timeout: 10_000 },
      )
      .toMatch(/whole$/);

    await openRollout(page, id); // afresh: the metadata tab re-renders while a dialog is typed into
    await page.getByRole('button', { name: /More Actions/ }).click();
    await page.getByRole('menuitem', { name: 'Send an Update' }).first().click();
    await page.getByRole('button', { name: 'Select an Update' }).click();
    const approve = page.getByRole('option', { name: /^approve/ }).filter({ visible: true });
    await expect.poll(() => approve.innerText()).toContain('{"phase": "wave-1", "by": "your name"');
    await approve.click();
    const modal = page.locator('#modal-content-update-confirmation-modal').filter({ visible: true });
    await modal.locator('[contenteditable="true"][data-language="json"]').filter({ visible: true }).click();
    await page.keyboard.type('{"phase": "wave", "by": "ui-user", "comment": "from the web UI"}');
    // The editor reformats its JSON when it loses focus, which moves the button: leave it, then submit.
    await page.getByText('only single JSON payload supported').filter({ visible: true }).click();
    await page.getByRole('button', { name: 'Submit' }).filter({ visible: true }).click();

    expect((await handle.result()) as { state: string }).toMatchObject({ state: 'succeeded' });
    const status = await handle.query(statusQuery);
    expect(status.phases[1]?.approvedBy).toMatchObject({ by: 'ui-user', comment: 'from the web UI', verified: false });
    await page.close();
  });

  it("shows a large rollout's compressed input as the JSON it was, through the codec endpoint", async () => {
    const id = `rollout-ui-big-${randomUUID().slice(0, 8)}`;
    const input = testInput([
      { name: 'canary', clusters: bigNames.slice(0, 1), approval: 'required' },
      { name: 'wave', clusters: bigNames.slice(1) },
    ]);
    const handle = await client.workflow.start('rollout', { taskQueue, workflowId: id, args: [input] });
    try {
      const { events } = await handle.fetchHistory();
      const stored = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.metadata?.['encoding'];
      expect(Buffer.from(stored ?? new Uint8Array()).toString()).toBe(zlibEncoding);
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await openRollout(page, id);
      // The UI asked the codec endpoint: the input reads as the plan (its apiVersion is nowhere else on the
      // page), not as compressed bytes.
      await expect
        .poll(() => page.getByText('phased-rollout.dev/v1alpha1').count(), { timeout: 30_000 })
        .toBeGreaterThan(0);
      expect(await page.getByText(zlibEncoding).count()).toBe(0);
      expect(await page.getByText(Buffer.from(zlibEncoding).toString('base64')).count()).toBe(0);
      await page.close();
    } finally {
      await handle.terminate('test done');
    }
  });
});

/**
 * `npm run demo`: a real rollout on the local lab, end to end. Provides the tools, starts a Temporal dev
 * server with its Web UI, the lab (3 clusters) and a worker, starts the lab plan, approves its gate itself
 * (saying so; --interactive waits for `rollout approve` instead), prints what every cluster runs as Helm
 * reports it, and on exit leaves nothing running unless --keep-lab. With --argocd, the lab runs Argo CD too
 * (built the first time) and the rollout is lab-argocd.yaml: the product through each cluster's Application.
 */
import { componentsOf, primaryComponent } from '../src/plan/components.js';
import { createInterface } from 'node:readline/promises';
import { Client, Connection } from '@temporalio/client';
import { table } from '../src/cli/table.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { temporalConfig, workflowUiLink } from '../src/common/temporal-config.js';
import { diffLines } from '../src/domain/diff.js';
import { describeSource } from '../src/domain/source.js';
import { finalStates, type RolloutStatus } from '../src/domain/types.js';
import { loadPlanFile } from '../src/cli/plan-file.js';
import { startCodecServer } from '../src/client/codec-server.js';
import { startDevServer } from '../src/tools/dev-server.js';
import { ensureTool } from '../src/tools/toolchain.js';
import { approveUpdate, statusQuery } from '../src/workflows/api.js';
import { argocdStatus, labDown, labStatus, labUp, readState } from './lab.js';
import { dataConverter } from '../src/common/payload-codec.js';

const { values: opts } = parseArgs({
  options: {
    interactive: { type: 'boolean', default: false },
    'keep-lab': { type: 'boolean', default: false },
    'chart-version': { type: 'string' },
    argocd: { type: 'boolean', default: false },
  },
});
const say = (line: string) => console.log(`[demo] ${line}`);
const cleanups: (() => Promise<void>)[] = [];

async function main(): Promise<number> {
  // The Web UI shows a large rollout's compressed payloads as JSON through this codec endpoint.
  const codec = await startCodecServer('127.0.0.1', 0);
  cleanups.push(() => codec.close());
  const codecEndpoint = codec.url;
  const server = await startDevServer({ port: 7233, uiPort: 8233, log: (l) => say(l), codecEndpoint }).catch(
    (err: Error) => {
      throw new Error(`${err.message}\nIs another Temporal server using port 7233? Stop it, then run the demo again.`);
    },
  );
  cleanups.push(() => server.stop());
  say(`Temporal dev server on ${server.address}; Web UI at ${server.uiUrl}`);

  const existing = readState();
  const hadLab = existing !== undefined;
  if (opts.argocd && existing && !existing.argocd) {
    throw new Error(
      `a lab without Argo CD is up in ${existing.dir}: 'npm run lab -- down' first, or run the demo without --argocd`,
    );
  }
  const lab = await labUp(3, (l) => say(l), { argocd: opts.argocd });
  if (!opts['keep-lab'] && !hadLab) cleanups.push(() => labDown((l) => say(l)));
  process.env['KUBECONFIG'] = lab.kubeconfig;
  process.env['TEMPORAL_ADDRESS'] = server.address;
  // The worker runs the Helm the tools step built, unless one is configured.
  process.env['ROLLOUT_HELM'] ??= await ensureTool('helm');

  const { createWorker, installWorkerLogging } = await import('../src/worker/worker.js');
  // The worker's own logs would drown the demo's story; warnings and errors still show.
  installWorkerLogging('WARN');
  const config = temporalConfig();
  const { worker, close } = await createWorker(config);
  const running = worker.run();
  cleanups.push(async () => {
    worker.shutdown();
    await running;
    await close();
  });
  say(`worker polling ${config.taskQueue}`);

  const { startCommand } = await import('../src/cli/start.js');
  // The plan from a clone of the lab's config repository, as a platform team keeps it: the rollout is
  // pinned to the commit its ref names now, and the worker fetches that commit itself.
  const planName = opts.argocd ? 'lab-argocd.yaml' : 'lab.yaml';
  const planFile = lab.git ? join(lab.git.worktree, 'rollout-plans', planName) : `rollout-plans/${planName}`;
  const loaded = await loadPlanFile(planFile);
  if (loaded.source.kind === 'git') say(`rolling from the lab's config repository ${describeSource(loaded.source)}`);
  const version = opts['chart-version'] ?? primaryComponent(componentsOf(loaded.plan)).release.version;
  const id = `rollout-lab-${version}-${new Date().toISOString().slice(11, 19).replace(/:/g, '')}`;
  const started = await startCommand(planFile, { id, as: 'demo', chartVersion: opts['chart-version'] });
  console.log(started.text);

  const connection = await Connection.connect({ address: server.address });
  cleanups.push(() => connection.close());
  const handle = new Client({ connection, dataConverter }).workflow.getHandle(id);
  let last = '';
  let status: RolloutStatus;
  for (;;) {
    status = await handle.query(statusQuery);
    const line = `${status.state}${status.currentPhase ? ` [${status.currentPhase}]` : ''}: ${status.clusters
      .map((c) => `${c.name}=${c.state}`)
      .join(' ')}`;
    if (line !== last) say((last = line));
    if (finalStates.includes(status.state)) break;
    const gate = status.phases.find((p) => p.state === 'awaiting-approval');
    if (gate && !gate.approvedBy && !opts.interactive) {
      say(`phase "${gate.name}" awaits approval; what it would change:`);
      for (const line of gate.diff ? diffLines(gate.diff) : []) say(`  ${line}`);
      say(`(full diff: rollout diff ${id} --phase ${gate.name})`);
      say(`the demo approves it itself as "demo-bot", bound to that diff's digest`);
      say(`(with --interactive it would wait for: rollout approve ${id} --phase ${gate.name})`);
      await handle.executeUpdate(approveUpdate, {
        args: [{ phase: gate.name, by: 'demo-bot', comment: 'approved by the demo', digest: gate.diff?.digest }],
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  say(`rollout ${status.state}${status.reason ? `: ${status.reason}` : ''}`);
  // In Argo CD mode the express column is the Helm release the lab installed first, which Argo CD took over.
  const rows = table([
    'cluster',
    'operator (helm)',
    opts.argocd ? 'express (helm, before Argo CD took it)' : 'express (helm)',
    'cache ready for',
  ]);
  for (const r of await labStatus()) rows.push([r.cluster, r.operator, r.express, r.cache]);
  console.log(rows.toString());
  if (opts.argocd) {
    const apps = table(['Application (Argo CD)', 'sources at', 'sync', 'health', 'last synced by']);
    for (const a of await argocdStatus()) apps.push([a.name, a.sources, a.sync, a.health, a.by]);
    console.log(apps.toString());
  }
  say(`Web UI: ${workflowUiLink({ ...config, address: '127.0.0.1:7233' }, id)}`);
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    await rl.question('[demo] press Enter to stop the server' + (opts['keep-lab'] ? '' : ' and the lab') + ' ');
    rl.close();
  }
  return status.state === 'succeeded' ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`[demo] ${(err as Error).message}`);
} finally {
  for (const c of cleanups.reverse()) await c().catch((e: Error) => console.error(`[demo] cleanup: ${e.message}`));
  if (opts['keep-lab']) say(`lab kept: KUBECONFIG=${readState()?.kubeconfig ?? ''}; 'npm run lab -- down' removes it`);
}
process.exit(code);

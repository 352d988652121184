/**
 * `npm run lab -- <command>`: the local multi-cluster lab.
 *   up [--clusters N] [--argocd]  N clusters (default 3), chart repository, baseline release on each;
 *                            with --argocd, Argo CD on a control cluster with an Application per cluster
 *   down                     remove everything the lab started
 *   status                   what each cluster runs, as Helm and the API server report it (and Argo CD)
 *   fault sync-fails --cluster NAME [--off]           synchronizer Jobs fail on that cluster
 *   fault bad-cache --cluster NAME --version V [--off] the cache for V never becomes ready there
 *   fault unreachable --cluster NAME [--off]          the cluster's control plane stops (connections refused)
 *   fault bad-metrics --cluster NAME [--off]          its lab_error_rate series goes from 0.01 to 0.5
 *   publish CHART VERSION [--broken]                   add a chart version (broken: pods never Ready)
 *   production-temporal      a production Temporal (built server, PostgreSQL, mTLS) until Ctrl-C
 */
import { Command, CommanderError } from 'commander';
import { table } from '../src/cli/table.js';
import { ensureTool } from '../src/tools/toolchain.js';
import { startProductionServer } from '../src/tools/production-server.js';
import {
  argocdStatus,
  indexRepo,
  labDown,
  labFault,
  labOutage,
  labStatus,
  labUp,
  publishChart,
  readState,
} from './lab.js';

const program = new Command('lab').exitOverride().showHelpAfterError();

program
  .command('up')
  .option('--clusters <n>', 'how many clusters', '3')
  .option('--argocd', 'also Argo CD (built from Go modules the first time) with an Application per cluster')
  .action(async (o: { clusters: string; argocd?: boolean }) => {
    const n = Number(o.clusters);
    if (!Number.isInteger(n) || n < 1 || n > 10) throw new CommanderError(2, 'lab', '--clusters must be 1 to 10');
    const state = await labUp(n, console.error, { argocd: o.argocd === true });
    console.log(`export KUBECONFIG=${state.kubeconfig}`);
  });
program.command('down').action(() => labDown());
program.command('status').action(async () => {
  const rows = table(['cluster', 'operator', 'express', 'cache ready for']);
  for (const r of await labStatus()) rows.push([r.cluster, r.operator, r.express, r.cache]);
  console.log(rows.toString());
  const apps = await argocdStatus();
  if (apps.length > 0) {
    const t = table(['Application (Argo CD)', 'sources at', 'sync', 'health', 'last synced by']);
    for (const a of apps) t.push([a.name, a.sources, a.sync, a.health, a.by]);
    console.log(t.toString());
  }
});
program
  .command('fault')
  .argument('<fault>', 'sync-fails, bad-cache, bad-metrics or unreachable')
  .requiredOption('--cluster <name>')
  .option('--version <v>', 'for bad-cache: the version whose cache never becomes ready')
  .option('--off', 'switch the fault off')
  .action(async (fault: string, o: { cluster: string; version?: string; off?: boolean }) => {
    if (fault === 'unreachable') await labOutage(o.cluster, !o.off);
    else if (fault === 'sync-fails' || fault === 'bad-cache' || fault === 'bad-metrics')
      await labFault(fault, o.cluster, !o.off, o.version);
    else throw new CommanderError(2, 'lab', `unknown fault ${fault}`);
    console.log(`${fault} ${o.off ? 'off' : 'on'} for ${o.cluster}${o.version ? ` (${o.version})` : ''}`);
  });
program
  .command('publish')
  .argument('<chart>', 'express, express-operator, express-farmer or express-accelerator')
  .argument('<version>')
  .option('--broken', 'its pods never become Ready')
  .action(async (chart: string, version: string, o: { broken?: boolean }) => {
    const state = readState();
    if (!state) throw new CommanderError(1, 'lab', 'no lab is up');
    const charts = ['express', 'express-operator', 'express-farmer', 'express-accelerator'] as const;
    const known = charts.find((c) => c === chart);
    if (!known) throw new CommanderError(2, 'lab', `unknown chart ${chart}`);
    const helm = await ensureTool('helm');
    await publishChart(helm, `${state.dir}/repo`, known, version, o.broken);
    await indexRepo(helm, `${state.dir}/repo`);
    console.log(`published ${chart} ${version}${o.broken ? ' (broken: pods never Ready)' : ''}`);
  });

program
  .command('production-temporal')
  .description('a production Temporal: the server built from Go modules, on PostgreSQL, with mTLS; until Ctrl-C')
  .action(async () => {
    const server = await startProductionServer();
    console.log(`# Temporal on ${server.address} (namespace ${server.namespace}); for the worker and the CLI:`);
    for (const [k, v] of Object.entries(server.env)) console.log(`export ${k}=${v}`);
    console.log('# then once: rollout setup. Ctrl-C stops the server and removes its data.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.stop();
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : err.exitCode === 1 ? 1 : 2;
  if (!(err instanceof CommanderError) || err.code === 'lab') console.error((err as Error).message);
  if (!(err instanceof CommanderError)) process.exitCode = 1;
}

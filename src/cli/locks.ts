import type { Command } from 'commander';
import { listClusterHolds } from '../client/registries.js';
import { lockRegistryId } from '../workflows/api.js';
import { byHolder, firstOf } from '../domain/locks.js';
import { clusterOption } from './options.js';
import { withClient } from './shared.js';
import { table } from './table.js';
import { action, outputOption, type Outcome } from './verb.js';

/**
 * `rollout locks`: which rollout holds which cluster. Without `--cluster`, one row per holding rollout
 * (a rollout of 1,000 clusters is one row); with it, one row per cluster asked about.
 */
export async function locksCommand(o: { cluster?: string[] }): Promise<Outcome> {
  return withClient(async (client, config) => {
    const holds = await listClusterHolds(client, lockRegistryId(config.taskQueue), o.cluster);
    const state = (running: boolean) => (running ? 'running' : 'closed: the next rollout to want it reclaims it');
    if (o.cluster) {
      const rows = table(['cluster', 'held by', 'holder is', 'since']);
      for (const c of o.cluster) {
        const h = holds.find((x) => x.cluster === c);
        rows.push(h ? [c, h.rollout, state(h.holderRunning), h.since] : [c, '-', 'free', '']);
      }
      return { text: rows.toString(), data: holds };
    }
    if (holds.length === 0) return { text: 'no cluster is held', data: holds };
    const rows = table(['held by', 'holder is', 'clusters', 'since']);
    for (const [rollout, hs] of byHolder(holds)) {
      const names = hs.map((h) => h.cluster);
      rows.push([
        rollout,
        state(hs[0]?.holderRunning ?? false),
        `${hs.length}: ${firstOf(names, 5)}`,
        hs[0]?.since ?? '',
      ]);
    }
    return { text: rows.toString(), data: holds };
  });
}

export function registerLocks(program: Command): void {
  program
    .command('locks')
    .description("which rollout holds which cluster (a cluster is held from its rollout's start to its end)")
    .addOption(clusterOption())
    .addOption(outputOption())
    .action(action(locksCommand));
}

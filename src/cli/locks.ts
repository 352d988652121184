import type { Command } from 'commander';
import { listClusterHolds } from '../activities/locks.js';
import { lockRegistryId } from '../workflows/api.js';
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
    const by = new Map<string, typeof holds>();
    for (const h of holds) by.set(h.rollout, [...(by.get(h.rollout) ?? []), h]);
    const rows = table(['held by', 'holder is', 'clusters', 'since']);
    for (const [rollout, hs] of by) {
      const named = hs.slice(0, 5).map((h) => h.cluster);
      const list = `${hs.length}: ${named.join(', ')}${hs.length > 5 ? `, and ${hs.length - 5} more` : ''}`;
      rows.push([rollout, state(hs[0]?.holderRunning ?? false), list, hs[0]?.since ?? '']);
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

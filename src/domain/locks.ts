/**
 * Which rollout holds which cluster: the lock registry's table and the rules that change it, pure so
 * that the registry workflow, the activities that talk to it and the tests share them.
 *
 * A cluster is held by one run of one rollout (its workflow ID and run ID: a rollout's ID is reused by
 * a later rollout of the same plan and version, its run ID never). A rollout takes all its clusters at
 * once or none, and gives them back when it closes. One whose run ended without giving them back (it
 * was terminated, or timed out) still shows in the table: a rollout that wants one of its clusters asks
 * the server whether that run still runs and, if not, reclaims what it held (`reclaim`).
 */

/** A run of a rollout, as the holder of clusters. */
export interface LockOwner {
  rollout: string;
  runId: string;
}

/** One held cluster, and since when. */
export interface HeldCluster extends LockOwner {
  cluster: string;
  since: string;
}

/** The clusters one run holds, and since when (it takes them all at once). */
export interface Holding extends LockOwner {
  since: string;
  clusters: string[];
}

/**
 * The registry's state: each holder with its clusters. Carried across continue-as-new and returned by the
 * `locks` query: grouped by holder, a cluster costs its name only (about 18 bytes), so 10,000 clusters
 * held stay far inside a payload's 512 kB warning line, where a record per cluster would not.
 */
export interface LockTable {
  holders: Holding[];
}

export interface TakeClustersRequest {
  owner: LockOwner;
  clusters: string[];
  /** Holders found closed by the caller: what they still hold is given back first. */
  reclaim?: LockOwner[];
}

/** Granted: the owner now holds every cluster asked for. Refused: who holds the others (grouped); nothing changed. */
export type TakeClustersReply = { granted: true } | { granted: false; held: Holding[] };

export const sameOwner = (a: LockOwner, b: LockOwner) => a.rollout === b.rollout && a.runId === b.runId;

/** Each held cluster's holder, for lookups (not kept: the table is the state). */
function holderIndex(table: LockTable): Map<string, Holding> {
  const index = new Map<string, Holding>();
  for (const h of table.holders) for (const c of h.clusters) index.set(c, h);
  return index;
}

/** Why a request is malformed, or undefined: the registry's update validators reject it before it is recorded. */
export function invalidLockRequest(req: { owner?: LockOwner; clusters?: unknown }, needClusters: boolean) {
  if (!req.owner?.rollout || !req.owner.runId) return 'owner.rollout and owner.runId are required';
  if (!needClusters) return undefined;
  const clusters: unknown = req.clusters;
  if (!Array.isArray(clusters) || clusters.length === 0) return 'clusters must be a non-empty list of cluster names';
  const bad = (clusters as unknown[]).find((c) => typeof c !== 'string' || c === '');
  if (bad !== undefined) return `clusters: ${JSON.stringify(bad)} is not a cluster name`;
  return undefined;
}

/** `held` grouped by holder, each holder's clusters in the order given. */
export function groupByHolder(held: readonly HeldCluster[]): Holding[] {
  const by = new Map<string, Holding>();
  for (const { cluster, ...h } of held) {
    const key = `${h.rollout}\u0000${h.runId}`;
    const group = by.get(key) ?? { ...h, clusters: [] };
    group.clusters.push(cluster);
    by.set(key, group);
  }
  return [...by.values()];
}

/**
 * Gives every cluster of the request to its owner, or none: a cluster held by another run refuses the
 * whole request. Asking again for what one already holds is granted (a retried activity). Changes `table`.
 */
export function takeClusters(table: LockTable, req: TakeClustersRequest, now: string): TakeClustersReply {
  for (const gone of req.reclaim ?? []) releaseClusters(table, gone);
  const index = holderIndex(table);
  const held = req.clusters.flatMap((cluster) => {
    const h = index.get(cluster);
    return h && !sameOwner(h, req.owner) ? [{ cluster, rollout: h.rollout, runId: h.runId, since: h.since }] : [];
  });
  if (held.length > 0) return { granted: false, held: groupByHolder(held) };
  const fresh = [...new Set(req.clusters.filter((c) => !index.has(c)))];
  if (fresh.length === 0) return { granted: true };
  const mine = table.holders.find((h) => sameOwner(h, req.owner));
  if (mine) mine.clusters.push(...fresh);
  else table.holders.push({ rollout: req.owner.rollout, runId: req.owner.runId, since: now, clusters: fresh });
  return { granted: true };
}

/** Gives back everything `owner` holds; returns how many clusters that was. Changes `table`. */
export function releaseClusters(table: LockTable, owner: LockOwner): number {
  let n = 0;
  table.holders = table.holders.filter((h) => {
    if (!sameOwner(h, owner)) return true;
    n += h.clusters.length;
    return false;
  });
  return n;
}

/** The table as held clusters, optionally only `clusters`, in the table's order. */
export function heldClusters(table: LockTable, clusters?: string[]): HeldCluster[] {
  const wanted = clusters ? new Set(clusters) : undefined;
  return table.holders.flatMap(({ clusters: names, ...h }) =>
    names.filter((c) => !wanted || wanted.has(c)).map((cluster) => ({ cluster, ...h })),
  );
}

/** How many clusters the table holds. */
export const heldCount = (table: LockTable) => table.holders.reduce((n, h) => n + h.clusters.length, 0);

/** The first `shown` of `items`, joined, and how many more: what a person reads of a long list. */
export function firstOf(items: string[], shown: number): string {
  const more = items.length > shown ? `, and ${items.length - shown} more` : '';
  return items.slice(0, shown).join(', ') + more;
}

/** Held clusters by holding rollout, each rollout's in the order given. */
export function byHolder<T extends HeldCluster>(held: T[]): Map<string, T[]> {
  const by = new Map<string, T[]>();
  for (const h of held) {
    const list = by.get(h.rollout);
    if (list) list.push(h);
    else by.set(h.rollout, [h]);
  }
  return by;
}

/** Why a start is refused: the first ten held clusters, each with its holder, and how many more. */
export function heldMessage(held: readonly Holding[]): string {
  const named = held.flatMap((h) => h.clusters.map((c) => `${c} (held by ${h.rollout})`));
  return `clusters already taken by another running rollout: ${firstOf(named, 10)}`;
}

/** Who holds what, for a person: one line per holding rollout, with its count and first few clusters. */
export function lockDetails(table: LockTable): string {
  // The table is grouped already; runs of one rollout (a reused ID) share its line.
  const by = new Map<string, string[]>();
  for (const h of table.holders) {
    const names = by.get(h.rollout);
    if (names) names.push(...h.clusters);
    else by.set(h.rollout, [...h.clusters]);
  }
  if (by.size === 0) return '**held clusters**: none';
  const lines = [...by].map(
    ([rollout, names]) =>
      `- \`${rollout}\`: ${names.length} cluster${names.length === 1 ? '' : 's'} (${firstOf(names, 5)})`,
  );
  const total = heldCount(table);
  return [`**held clusters**: ${total}, by ${by.size} rollout${by.size === 1 ? '' : 's'}`, '', ...lines].join('\n');
}

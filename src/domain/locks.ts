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

/** The registry's state: each held cluster's holder. Carried across continue-as-new. */
export interface LockTable {
  held: Record<string, Omit<HeldCluster, 'cluster'>>;
}

export interface TakeClustersRequest {
  owner: LockOwner;
  clusters: string[];
  /** Holders found closed by the caller: what they still hold is given back first. */
  reclaim?: LockOwner[];
}

/** Granted: the owner now holds every cluster asked for. Refused: who holds the others; nothing changed. */
export type TakeClustersReply = { granted: true } | { granted: false; held: HeldCluster[] };

export const sameOwner = (a: LockOwner, b: LockOwner) => a.rollout === b.rollout && a.runId === b.runId;

const holderOf = (table: LockTable, cluster: string) =>
  Object.prototype.hasOwnProperty.call(table.held, cluster) ? table.held[cluster] : undefined;

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

/**
 * Gives every cluster of the request to its owner, or none: a cluster held by another run refuses the
 * whole request. Asking again for what one already holds is granted (a retried activity). Changes `table`.
 */
export function takeClusters(table: LockTable, req: TakeClustersRequest, now: string): TakeClustersReply {
  for (const gone of req.reclaim ?? []) releaseClusters(table, gone);
  const held = req.clusters.flatMap((cluster) => {
    const h = holderOf(table, cluster);
    return h && !sameOwner(h, req.owner) ? [{ cluster, ...h }] : [];
  });
  if (held.length > 0) return { granted: false, held };
  for (const cluster of req.clusters) {
    if (!holderOf(table, cluster)) table.held[cluster] = { ...req.owner, since: now };
  }
  return { granted: true };
}

/** Gives back everything `owner` holds; returns how many clusters that was. Changes `table`. */
export function releaseClusters(table: LockTable, owner: LockOwner): number {
  let n = 0;
  for (const [cluster, h] of Object.entries(table.held)) {
    if (sameOwner(h, owner)) {
      delete table.held[cluster];
      n++;
    }
  }
  return n;
}

/** The table as held clusters, optionally only `clusters`, in the table's order. */
export function heldClusters(table: LockTable, clusters?: string[]): HeldCluster[] {
  const wanted = clusters ? new Set(clusters) : undefined;
  return Object.entries(table.held)
    .filter(([c]) => !wanted || wanted.has(c))
    .map(([cluster, h]) => ({ cluster, ...h }));
}

/** The first `shown` of `items`, joined, and how many more: what a person reads of a long list. */
export function firstOf(items: string[], shown: number): string {
  const more = items.length > shown ? `, and ${items.length - shown} more` : '';
  return items.slice(0, shown).join(', ') + more;
}

/** Held clusters by holding rollout, each rollout's in the order given. */
export function byHolder<T extends HeldCluster>(held: T[]): Map<string, T[]> {
  const by = new Map<string, T[]>();
  for (const h of held) by.set(h.rollout, [...(by.get(h.rollout) ?? []), h]);
  return by;
}

/** Why a start is refused: the first ten held clusters, each with its holder, and how many more. */
export function heldMessage(held: HeldCluster[]): string {
  const named = held.map((h) => `${h.cluster} (held by ${h.rollout})`);
  return `clusters already taken by another running rollout: ${firstOf(named, 10)}`;
}

/** Who holds what, for a person: one line per holding rollout, with its count and first few clusters. */
export function lockDetails(table: LockTable): string {
  const by = byHolder(heldClusters(table));
  if (by.size === 0) return '**held clusters**: none';
  const lines = [...by].map(([rollout, hs]) => {
    const named = firstOf(
      hs.map((h) => h.cluster),
      5,
    );
    return `- \`${rollout}\`: ${hs.length} cluster${hs.length === 1 ? '' : 's'} (${named})`;
  });
  const total = Object.keys(table.held).length;
  return [`**held clusters**: ${total}, by ${by.size} rollout${by.size === 1 ? '' : 's'}`, '', ...lines].join('\n');
}

/**
 * Maps items with at most `limit` calls in flight, results in the items' order: cluster reads and helm
 * renders are bounded so that a 1,000-cluster fleet neither floods the worker nor takes 1,000 steps in turn.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

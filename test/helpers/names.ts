import { randomBytes } from 'node:crypto';

/** Cluster names unique to one test, since cluster locks are global on the shared server. */
export function clusterNames(n: number): string[] {
  const prefix = `t${randomBytes(3).toString('hex')}`;
  return Array.from({ length: n }, (_, i) => `${prefix}-c${i + 1}`);
}

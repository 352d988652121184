import type { DiffGroup, DiffSummary, ReleaseDiff } from './types.js';

/** A digest as people read it: its first 12 hex digits. */
export function shortDigest(digest: string | undefined): string {
  return (digest ?? '').replace(/^sha256:/, '').slice(0, 12);
}

/** "2 Deployment changed, 1 ConfigMap added, 3 Service relabelled only", or "no changes". */
export function summaryLine(summary: DiffSummary): string {
  const parts: string[] = [];
  for (const bucket of ['added', 'changed', 'removed', 'relabelled'] as const) {
    const counts = Object.entries(summary[bucket] ?? {}).sort(([a], [b]) => a.localeCompare(b));
    for (const [kind, n] of counts) parts.push(`${n} ${kind} ${bucket === 'relabelled' ? 'relabelled only' : bucket}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'no changes';
}

/** One group: "chart: 38 clusters: 2 Deployment changed [digest]" (names for small groups). */
export function groupLine(g: DiffGroup, names = 5): string {
  const who =
    g.clusters.length <= names
      ? g.clusters.join(', ')
      : `${g.clusters.length} clusters (${g.clusters.slice(0, names).join(', ')}, ...)`;
  const what = g.error ? `diff unavailable: ${g.error}` : summaryLine(g.summary);
  return `${g.release ? `${g.release}: ` : ''}${who}: ${what} [${shortDigest(g.digest)}]`;
}

/** A phase's diff in a few lines: its digest, then at most `groups` groups, largest first. */
export function diffLines(diff: ReleaseDiff, groups = 5): string[] {
  const lines = diff.groups.slice(0, groups).map((g) => groupLine(g));
  if (diff.groups.length > groups) lines.push(`...and ${diff.groups.length - groups} more groups`);
  return [`diff ${shortDigest(diff.digest)}: ${diff.groups.length} distinct`, ...lines];
}

import type { FleetRelease, FleetReport, FleetRow, FleetVerdict } from './types.js';

const worstFirst: FleetVerdict[] = [
  'unreachable',
  'failed',
  'pending',
  'missing',
  'version-drift',
  'values-drift',
  'out-of-sync',
  'cache-not-ready',
  'in-sync',
];

/** What one release says of the cluster, and why. */
function releaseVerdict(role: string, r: FleetRelease): [FleetVerdict, string] | undefined {
  if (r.version === undefined) return ['missing', `${role} is not installed`];
  if (r.status === 'failed') return ['failed', `${role} revision ${r.revision} failed`];
  if (r.status?.startsWith('pending-')) return ['pending', `${role} revision ${r.revision} is ${r.status}`];
  // Argo CD's words (driver argocd): sync status / health.
  if (r.status?.endsWith('/Degraded')) return ['failed', `${role} is ${r.status} in Argo CD`];
  if (r.version.replace(/^v/, '') !== r.desiredVersion.replace(/^v/, '')) {
    return ['version-drift', `${role} runs ${r.version}, the config source wants ${r.desiredVersion}`];
  }
  if (r.valuesDigest !== r.desiredValues) {
    return [
      'values-drift',
      `${role} runs other values than the config source's (${r.valuesDigest?.slice(7, 19)} vs ${r.desiredValues.slice(7, 19)})`,
    ];
  }
  if (r.status?.startsWith('OutOfSync/')) {
    return ['out-of-sync', `${role} is ${r.status} in Argo CD: live objects differ from its pinned sources`];
  }
  return undefined;
}

/** The verdict on one cluster: the worst of what its releases and cache say. */
export function fleetVerdict(
  row: Omit<FleetRow, 'verdict' | 'reasons'>,
  error?: string,
): Pick<FleetRow, 'verdict' | 'reasons'> {
  if (error) return { verdict: 'unreachable', reasons: [error] };
  const found: [FleetVerdict, string][] = [];
  for (const [component, release] of Object.entries(row.releases)) {
    const v = releaseVerdict(component, release);
    if (v) found.push(v);
  }
  if (row.cache && !row.cache.ready) found.push(['cache-not-ready', `cache: ${row.cache.observed}`]);
  if (found.length === 0) return { verdict: 'in-sync', reasons: [] };
  const verdict = worstFirst.find((v) => found.some(([f]) => f === v)) ?? 'in-sync';
  return { verdict, reasons: found.map(([, why]) => why) };
}

/** Clusters counted by verdict. */
export function fleetCounts(rows: FleetRow[]): FleetReport['counts'] {
  const counts: FleetReport['counts'] = {};
  for (const r of rows) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  return counts;
}

/** "3 in-sync, 1 values-drift": counts worst first. */
export function countsLine(counts: FleetReport['counts']): string {
  return worstFirst
    .filter((v) => counts[v])
    .map((v) => `${counts[v]} ${v}`)
    .join(', ');
}

/** The Web UI's current details for a fleet check: counts, then the clusters not in sync (at most 20). */
export function fleetMarkdown(report: FleetReport): string {
  const off = report.rows.filter((r) => r.verdict !== 'in-sync');
  const lines = off.slice(0, 20).map((r) => `| ${r.cluster} | ${r.verdict} | ${r.reasons.join('; ')} |`);
  if (off.length > 20) lines.push(`| ... | | ${off.length - 20} more not in sync |`);
  return [
    `**${off.length === 0 ? 'in sync' : 'drift'}**: ${countsLine(report.counts)}`,
    '',
    `desired: ${report.source}, read ${report.at}`,
    ...(off.length > 0 ? ['', '| cluster | verdict | why |', '|---|---|---|', ...lines] : []),
  ].join('\n');
}

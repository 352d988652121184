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

/** Rows in a fleet check's result: the clusters not in sync, worst first, up to this many. */
export const fleetRowsInResult = 200;
/** Rows in one answer of the `fleet-page` query (about 300 bytes a row: far inside 512 kB). */
export const fleetPageSize = 1000;

export interface FleetPageRequest {
  offset?: number;
  /** At most `fleetPageSize`; that by default. */
  limit?: number;
}

/** A page of a fleet check's rows, in the plan's cluster order; `total` is every cluster read so far. */
export interface FleetPage {
  total: number;
  offset: number;
  rows: FleetRow[];
}

/** The page `req` asks for of `rows`. */
export function fleetPage(rows: readonly FleetRow[], req: FleetPageRequest = {}): FleetPage {
  const offset = Math.max(0, Math.floor(req.offset ?? 0));
  const limit = Math.min(fleetPageSize, Math.max(1, Math.floor(req.limit ?? fleetPageSize)));
  return { total: rows.length, offset, rows: rows.slice(offset, offset + limit) };
}

/** The rows a fleet check returns: those not in sync, worst first, at most `fleetRowsInResult`. */
export function rowsNeedingEyes(rows: readonly FleetRow[]): FleetRow[] {
  const rank = (r: FleetRow) => worstFirst.indexOf(r.verdict);
  return rows
    .filter((r) => r.verdict !== 'in-sync')
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, fleetRowsInResult);
}

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
  const offCount = report.total - (report.counts['in-sync'] ?? 0);
  const lines = off.slice(0, 20).map((r) => `| ${r.cluster} | ${r.verdict} | ${r.reasons.join('; ')} |`);
  if (offCount > 20) lines.push(`| ... | | ${offCount - 20} more not in sync |`);
  return [
    `**${offCount === 0 ? 'in sync' : 'drift'}**: ${countsLine(report.counts)}`,
    '',
    `desired: ${report.source}, read ${report.at}`,
    ...(off.length > 0 ? ['', '| cluster | verdict | why |', '|---|---|---|', ...lines] : []),
  ].join('\n');
}

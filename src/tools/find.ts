/**
 * Finds the real servers and CLIs the project runs against (Temporal, Helm, kwok, etcd, Kubernetes): in
 * the per-user cache `npm run tools` builds into, else on PATH when the version fits. Finding never
 * builds; `toolchain.ts` builds what is missing.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from '../common/cache-dir.js';
import { helmVersionProblem } from '../common/helm-binary.js';

const exec = promisify(execFile);

export type ToolName =
  | 'temporal'
  | 'helm'
  | 'kwok'
  | 'kwokctl'
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'victoria-metrics'
  | 'registry'
  | 'temporal-server'
  | 'temporal-sql-tool'
  | 'argocd';

export const versions = {
  temporal: '1.5.1',
  helm: '3.22.0',
  kwok: '0.8.0',
  etcd: '3.6.14',
  kubernetes: '1.36.3',
  victoriametrics: '1.151.0',
  distribution: '3.1.2',
  // The server the CLI's dev server embeds, as a production server: on PostgreSQL, with mTLS.
  temporalServer: '1.29.1',
  // The newest Argo CD that builds from Go modules through a wrapper module (3.2.12 and later do not).
  argocd: '3.2.11',
} as const;

/** Tools built together, and how to tell a binary on PATH will do. */
export interface Bundle {
  /** Cache folder name, includes the version so upgrades never reuse a stale build. */
  readonly dir: string;
  readonly tools: readonly ToolName[];
  /** Whether a binary found on PATH is acceptable, from its version output. */
  readonly accepts: (tool: ToolName, versionOutput: string) => boolean;
  readonly versionArgs: (tool: ToolName) => string[];
}

export type BundleName =
  | 'temporal'
  | 'helm'
  | 'kwok'
  | 'etcd'
  | 'kubernetes'
  | 'victoriametrics'
  | 'distribution'
  | 'temporalserver'
  | 'argocd';

export const bundles: Record<BundleName, Bundle> = {
  temporal: {
    dir: `temporal-${versions.temporal}`,
    tools: ['temporal'],
    accepts: (_t, out) => atLeast(/temporal version (\d+\.\d+\.\d+)/.exec(out)?.[1], versions.temporal),
    versionArgs: () => ['--version'],
  },
  helm: {
    dir: `helm-${versions.helm}-k8s`,
    tools: ['helm'],
    // Any Helm the worker accepts (3.x at or above its minimum), as the worker does.
    accepts: (_t, out) => helmVersionProblem(out) === undefined,
    versionArgs: () => ['version', '--short'],
  },
  kwok: {
    dir: `kwok-${versions.kwok}`,
    tools: ['kwok', 'kwokctl'],
    accepts: (_t, out) => out.includes(`v${versions.kwok}`),
    versionArgs: () => ['--version'],
  },
  etcd: {
    dir: `etcd-${versions.etcd}`,
    tools: ['etcd'],
    accepts: (_t, out) => out.includes(`etcd Version: ${minor(versions.etcd)}.`),
    versionArgs: () => ['--version'],
  },
  kubernetes: {
    dir: `kubernetes-${versions.kubernetes}`,
    tools: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'],
    accepts: (tool, out) =>
      tool === 'kubectl'
        ? out.includes(`"gitVersion": "v${minor(versions.kubernetes)}.`)
        : out.includes(`Kubernetes v${minor(versions.kubernetes)}.`),
    versionArgs: (tool) => (tool === 'kubectl' ? ['version', '--client', '-o', 'json'] : ['--version']),
  },
  // A Prometheus-API metrics server for analysis tests and the lab.
  victoriametrics: {
    dir: `victoriametrics-${versions.victoriametrics}`,
    tools: ['victoria-metrics'],
    accepts: (_t, out) => out.includes(`v${versions.victoriametrics}`),
    versionArgs: () => ['-version'],
  },
  // An OCI registry (CNCF Distribution) for the tests of charts kept in private registries.
  distribution: {
    dir: `distribution-${versions.distribution}`,
    tools: ['registry'],
    accepts: (_t, out) => out.includes('distribution/v3') && out.includes(`v${versions.distribution}`),
    versionArgs: () => ['--version'],
  },
  // A production Temporal server and its schema tool (with the PostgreSQL schemas beside them, in the
  // bundle's schema/), for the tests and the lab mode that run on one. Never taken from PATH: its
  // schemas must match it.
  temporalserver: {
    dir: `temporal-server-${versions.temporalServer}`,
    tools: ['temporal-server', 'temporal-sql-tool'],
    accepts: () => false,
    versionArgs: () => ['--version'],
  },
  // Argo CD (one binary; the component runs is the name it is called by: argocd-application-controller,
  // argocd-repo-server), with its CRDs and base configuration copied beside it from the module, for the
  // Argo CD deploy mechanism's lab and tests. Never taken from PATH: the CRDs must match it.
  argocd: {
    dir: `argocd-${versions.argocd}`,
    tools: ['argocd'],
    accepts: () => false,
    versionArgs: () => ['version', '--client', '--short'],
  },
};

export { cacheRoot };

export function bundleOf(tool: ToolName): [BundleName, Bundle] {
  const entry = (Object.entries(bundles) as [BundleName, Bundle][]).find(([, b]) => b.tools.includes(tool));
  if (!entry) throw new Error(`unknown tool ${tool}`);
  return entry;
}

/** Returns the path of a usable binary for `tool`, or undefined when it must be built first. */
export async function findTool(tool: ToolName): Promise<string | undefined> {
  const [, bundle] = bundleOf(tool);
  const cached = join(cacheRoot(), bundle.dir, 'bin', tool);
  if (existsSync(cached)) return cached;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, tool);
    if (!dir || !existsSync(candidate)) continue;
    try {
      const { stdout, stderr } = await exec(candidate, bundle.versionArgs(tool), { timeout: 15_000 });
      if (bundle.accepts(tool, stdout + stderr)) return candidate;
    } catch {
      // A binary that cannot report its version is not one we can vouch for.
    }
  }
  return undefined;
}

function minor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

function atLeast(found: string | undefined, wanted: string): boolean {
  if (!found) return false;
  const a = found.split('.').map(Number);
  const b = wanted.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

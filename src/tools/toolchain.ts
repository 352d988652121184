/**
 * Provides the real servers and CLIs the project runs against (Temporal dev server, Kubernetes control
 * plane binaries, etcd, kwok, Helm): a binary already on PATH when its version fits, else one built from
 * Go modules into a per-user cache outside the repository, so later runs and fresh clones reuse it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleOf, bundles, cacheRoot, findTool, versions, type BundleName, type ToolName } from './find.js';

export { findTool, versions, type ToolName } from './find.js';

const exec = promisify(execFile);
const k8sTools = bundles.kubernetes.tools;

/** `go install` of packages with their version stamped in through one -X ldflag (else they report 0.0.0-dev). */
const stamped =
  (variable: string, ...packages: string[]) =>
  (out: string, log: (line: string) => void): Promise<void> =>
    goInstall(out, ['-ldflags', `-X ${variable}`, ...packages], log);

const builds: Record<
  BundleName,
  { note: string; build: (outDir: string, log: (line: string) => void) => Promise<void> }
> = {
  temporal: {
    note: 'about 6 minutes on 2 cores',
    build: stamped(
      `github.com/temporalio/cli/temporalcli.Version=${versions.temporal}`,
      `github.com/temporalio/cli/cmd/temporal@v${versions.temporal}`,
    ),
  },
  helm: {
    note: 'about 3 minutes',
    build: (out, log) => buildHelm(out, log),
  },
  kwok: {
    note: 'about 4 minutes',
    build: stamped(
      `sigs.k8s.io/kwok/pkg/consts.Version=v${versions.kwok}`,
      `sigs.k8s.io/kwok/cmd/kwok@v${versions.kwok}`,
      `sigs.k8s.io/kwok/cmd/kwokctl@v${versions.kwok}`,
    ),
  },
  etcd: {
    note: 'about 3 minutes',
    build: (out, log) => buildEtcd(out, log),
  },
  kubernetes: {
    note: 'about 8 to 10 minutes on 2 cores',
    build: (out, log) => buildKubernetes(out, log),
  },
  victoriametrics: {
    note: 'about a minute on 2 cores',
    build: stamped(
      `github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-v${versions.victoriametrics}`,
      `github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v${versions.victoriametrics}`,
    ),
  },
  distribution: {
    note: 'about 3 minutes on 2 cores',
    build: stamped(
      `github.com/distribution/distribution/v3/version.version=v${versions.distribution}`,
      `github.com/distribution/distribution/v3/cmd/registry@v${versions.distribution}`,
    ),
  },
  temporalserver: {
    note: 'about 3 to 7 minutes on 2 cores',
    build: (out, log) => buildTemporalServer(out, log),
  },
  argocd: {
    note: 'about 10 minutes on 2 cores',
    build: (out, log) => buildArgoCd(out, log),
  },
};

/** Like findTool, but builds the tool's bundle into the cache when needed. */
export async function ensureTool(tool: ToolName, log: (line: string) => void = console.error): Promise<string> {
  const found = await findTool(tool);
  if (found) return found;
  const [name, bundle] = bundleOf(tool);
  const { note, build } = builds[name];
  const final = join(cacheRoot(), bundle.dir);
  log(`[tools] building ${name} (${bundle.tools.join(', ')}) into ${final}; ${note} the first time`);
  await mkdir(cacheRoot(), { recursive: true });
  const staging = await mkdtemp(join(cacheRoot(), `.${bundle.dir}-`));
  try {
    await build(join(staging, 'bin'), log);
    for (const t of bundle.tools) {
      if (!existsSync(join(staging, 'bin', t))) throw new Error(`build of ${name} produced no ${t} binary`);
    }
    await rm(final, { recursive: true, force: true });
    await rename(staging, final);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `could not build ${name}: ${(err as Error).message}\n` +
        `Check that Go is installed and the Go module proxy is reachable (go env GOPROXY), then run 'npm run tools' again.`,
    );
  }
  log(`[tools] ${name} ready`);
  return join(final, 'bin', tool);
}

/** Every tool the project knows, grouped as they are built. */
export function toolGroups(): Record<string, readonly ToolName[]> {
  return Object.fromEntries(Object.entries(bundles).map(([k, b]) => [k, b.tools]));
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }, log: (l: string) => void) {
  return new Promise<void>((resolve, reject) => {
    log(`[tools] $ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0] ?? ''} exited with ${code}:\n${tail}`)),
    );
  });
}

function goInstall(outDir: string, args: string[], log: (l: string) => void) {
  return run('go', ['install', '-trimpath', ...args], { env: { GOBIN: outDir, CGO_ENABLED: '0' } }, log);
}

async function wrapperModule(name: string, log: (l: string) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `phased-rollout-${name}-`));
  await run('go', ['mod', 'init', `local/${name}`], { cwd: dir }, log);
  return dir;
}

async function buildEtcd(outDir: string, log: (l: string) => void) {
  const dir = await wrapperModule('etcdbin', log);
  try {
    await run('go', ['get', `go.etcd.io/etcd/server/v3@v${versions.etcd}`], { cwd: dir }, log);
    await run(
      'go',
      ['build', '-trimpath', '-o', join(outDir, 'etcd'), 'go.etcd.io/etcd/server/v3'],
      { cwd: dir, env: { CGO_ENABLED: '0' } },
      log,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Helm as its Makefile builds it: besides its own version, the Kubernetes version it assumes when no cluster
 * is asked (`helm template`, `helm lint`), derived from the client-go it is built with (v0.37 -> 1.37).
 * Without these it assumes 1.20 and `helm template` refuses every chart whose kubeVersion asks for more.
 */
async function buildHelm(outDir: string, log: (l: string) => void) {
  const mod = `helm.sh/helm/v3@v${versions.helm}`;
  const { stdout } = await exec('go', ['mod', 'download', '-json', mod], { maxBuffer: 16 << 20 });
  const goMod = await readFile((JSON.parse(stdout) as { GoMod: string }).GoMod, 'utf8');
  const clientGo = /^\s*k8s\.io\/client-go\s+v(\d+)\.(\d+)\./m.exec(goMod);
  if (!clientGo) throw new Error(`${mod}'s go.mod names no k8s.io/client-go version`);
  const [major, minorPart] = [String(Number(clientGo[1]) + 1), clientGo[2] as string];
  const ldflags = [
    `-X helm.sh/helm/v3/internal/version.version=v${versions.helm}`,
    ...['pkg/chartutil', 'pkg/lint/rules'].flatMap((pkg) => [
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=${major}`,
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${minorPart}`,
    ]),
  ].join(' ');
  await goInstall(outDir, ['-ldflags', ldflags, `helm.sh/helm/v3/cmd/helm@v${versions.helm}`], log);
}

/**
 * The Temporal server and its SQL schema tool, as `go install` builds them (the module has no replace
 * directives), with the PostgreSQL schemas the module ships copied beside `bin/` (the module cache may be
 * cleaned; the schemas must match the server).
 */
async function buildTemporalServer(outDir: string, log: (l: string) => void) {
  const v = versions.temporalServer;
  const gobin = await mkdtemp(join(tmpdir(), 'temporal-server-'));
  try {
    await run(
      'go',
      ['install', '-trimpath', `go.temporal.io/server/cmd/server@v${v}`, `go.temporal.io/server/cmd/tools/sql@v${v}`],
      { env: { GOBIN: gobin, CGO_ENABLED: '0' } },
      log,
    );
    await mkdir(outDir, { recursive: true });
    await rename(join(gobin, 'server'), join(outDir, 'temporal-server'));
    await rename(join(gobin, 'sql'), join(outDir, 'temporal-sql-tool'));
  } finally {
    await rm(gobin, { recursive: true, force: true });
  }
  const { stdout } = await exec('go', ['mod', 'download', '-json', `go.temporal.io/server@v${v}`], {
    maxBuffer: 16 << 20,
  });
  const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  await cp(join(moduleDir, 'schema/postgresql/v12'), join(outDir, '..', 'schema/postgresql/v12'), { recursive: true });
}

/**
 * Argo CD through a wrapper module: `go install` refuses its module (replace directives), so the wrapper
 * copies the 37 replace directives of its go.mod and builds its single binary, with the version stamped in.
 * Its CRDs and base configuration (manifests/crds, manifests/base/config) are copied beside `bin/`.
 */
async function buildArgoCd(outDir: string, log: (l: string) => void) {
  const v = versions.argocd;
  const mod = `github.com/argoproj/argo-cd/v3@v${v}`;
  const dir = await wrapperModule('argocdbin', log);
  try {
    const { stdout } = await exec('go', ['mod', 'download', '-json', mod], { cwd: dir, maxBuffer: 16 << 20 });
    const { GoMod: goMod, Dir: moduleDir } = JSON.parse(stdout) as { GoMod: string; Dir: string };
    for (const replace of replacesOf(await readFile(goMod, 'utf8'))) {
      await exec('go', ['mod', 'edit', `-replace=${replace}`], { cwd: dir });
    }
    // The application controller binds its metrics listener to every interface, with no flag to choose;
    // this build binds it to loopback, as everything the lab starts listens (one line, checked to exist).
    const copy = join(dir, 'argo-cd');
    await cp(moduleDir, copy, { recursive: true });
    await exec('chmod', ['-R', 'u+w', copy]);
    const controller = join(copy, 'controller/appcontroller.go');
    const text = await readFile(controller, 'utf8');
    const bind = 'fmt.Sprintf("0.0.0.0:%d", metricsPort)';
    if (!text.includes(bind))
      throw new Error(`${mod}: controller/appcontroller.go no longer has ${bind}; update the build`);
    await writeFile(controller, text.replace(bind, 'fmt.Sprintf("127.0.0.1:%d", metricsPort)'));
    await exec(
      'go',
      [
        'mod',
        'edit',
        '-require=github.com/argoproj/argo-cd/v3@v' + v,
        '-replace=github.com/argoproj/argo-cd/v3=./argo-cd',
      ],
      {
        cwd: dir,
      },
    );
    await writeFile(
      join(dir, 'tools.go'),
      '//go:build tools\npackage tools\nimport _ "github.com/argoproj/argo-cd/v3/cmd"\n',
    );
    await run('go', ['get', `github.com/argoproj/argo-cd/v3/cmd@v${v}`], { cwd: dir }, log);
    await run(
      'go',
      [
        'build',
        '-trimpath',
        '-ldflags',
        `-X github.com/argoproj/argo-cd/v3/common.version=${v}`,
        '-o',
        join(outDir, 'argocd'),
        'github.com/argoproj/argo-cd/v3/cmd',
      ],
      { cwd: dir, env: { CGO_ENABLED: '0' } },
      log,
    );
    await cp(join(moduleDir, 'manifests/crds'), join(outDir, '..', 'manifests/crds'), { recursive: true });
    await cp(join(moduleDir, 'manifests/base/config'), join(outDir, '..', 'manifests/base/config'), {
      recursive: true,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A go.mod's replace directives as `OLD[@V]=NEW[@V]` arguments of `go mod edit -replace` (local paths skipped). */
export function replacesOf(goMod: string): string[] {
  const lines: string[] = [];
  for (const block of goMod.matchAll(/^replace\s*\(([\s\S]*?)^\)/gm)) lines.push(...(block[1] ?? '').split('\n'));
  for (const single of goMod.matchAll(/^replace\s+([^(\n].*)$/gm)) lines.push(single[1] ?? '');
  return lines
    .map((l) => l.replace(/\/\/.*$/, '').trim())
    .filter(Boolean)
    .map((l) => {
      const [from = '', to = ''] = l.split('=>').map((p) => p.trim().split(/\s+/).join('@'));
      return [from, to] as const;
    })
    .filter(([from, to]) => from && to && !to.startsWith('.') && !to.startsWith('/'))
    .map(([from, to]) => `${from}=${to}`);
}

async function buildKubernetes(outDir: string, log: (l: string) => void) {
  const v = versions.kubernetes;
  const dir = await wrapperModule('k8sbin', log);
  try {
    // k8s.io/kubernetes replaces its staging modules with ./staging paths; point each at its published
    // v0.x.y twin instead, read from the module's own go.mod.
    const { stdout } = await exec('go', ['mod', 'download', '-json', `k8s.io/kubernetes@v${v}`], {
      cwd: dir,
      maxBuffer: 16 << 20,
    });
    const goMod = (JSON.parse(stdout) as { GoMod: string }).GoMod;
    const text = await readFile(goMod, 'utf8');
    const staging = [...text.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)].map((m) => m[1] as string);
    const stagingVersion = `v0.${v.split('.').slice(1).join('.')}`;
    for (const mod of staging) {
      await exec('go', ['mod', 'edit', `-replace=${mod}=${mod}@${stagingVersion}`], { cwd: dir });
    }
    await writeFile(join(dir, 'tools.go'), toolsGo(), 'utf8');
    const cmds = k8sTools.map((t) => `k8s.io/kubernetes/cmd/${t}`);
    await run('go', ['get', ...cmds.map((c) => `${c}@v${v}`)], { cwd: dir }, log);
    const [major, minorPart] = v.split('.');
    const ldflags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
      .flatMap((pkg) => [
        `-X ${pkg}.gitVersion=v${v}`,
        `-X ${pkg}.gitMajor=${major}`,
        `-X ${pkg}.gitMinor=${minorPart}`,
        `-X ${pkg}.gitTreeState=clean`,
        `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
      ])
      .join(' ');
    for (const [i, cmd] of cmds.entries()) {
      await run(
        'go',
        ['build', '-trimpath', '-ldflags', ldflags, '-o', join(outDir, k8sTools[i] as string), cmd],
        { cwd: dir, env: { CGO_ENABLED: '0' } },
        log,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function toolsGo(): string {
  return [
    '//go:build tools',
    'package tools',
    'import (',
    ...k8sTools.map((t) => `\t_ "k8s.io/kubernetes/cmd/${t}"`),
    ')',
    '',
  ].join('\n');
}

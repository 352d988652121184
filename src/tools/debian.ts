/**
 * Tools that come from Debian's packages rather than Go modules (git for config repositories, ssh-keygen
 * for signed approvals, chromium for the Web UI tests, htpasswd and openssl for a private registry, buildah,
 * umoci, skopeo and debootstrap for the worker's image): taken
 * from PATH; where missing, installed with apt-get when this process may (root on Debian), else a clear
 * message saying what to install.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The Debian package that provides each command. */
const packages = {
  git: 'git',
  'ssh-keygen': 'openssh-client',
  chromium: 'chromium',
  // A registry's htpasswd file (bcrypt) and a private CA, for the tests of private chart registries.
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
  // The worker's container image, built without a Docker engine (src/tools/image.ts).
  buildah: 'buildah',
  umoci: 'umoci',
  skopeo: 'skopeo',
  debootstrap: 'debootstrap',
  // Argo CD's cache, for the lab's Argo CD and the tests of the Argo CD deploy mechanism.
  'redis-server': 'redis-server',
} as const;
export type DebianTool = keyof typeof packages;

function onPath(command: string): string | undefined {
  // debootstrap is in /usr/sbin, which a non-login shell's PATH may lack.
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The command's path, installing its package first when it is missing and this process can. */
export async function ensureDebianTool(tool: DebianTool, log: (l: string) => void = console.error): Promise<string> {
  const found = onPath(tool);
  if (found) return found;
  const pkg = packages[tool];
  if (!canInstall()) throw new Error(`${tool} is not on PATH; install it (Debian/Ubuntu: apt-get install ${pkg})`);
  await installDebianPackage(pkg, log);
  const installed = onPath(tool);
  if (!installed) throw new Error(`apt-get installed ${pkg}, but ${tool} is still not on PATH`);
  return installed;
}

const canInstall = () => process.getuid?.() === 0 && onPath('apt-get') !== undefined;

/** Installs a Debian package with apt-get (root only), for tools whose commands are not on PATH. */
export async function installDebianPackage(pkg: string, log: (l: string) => void = console.error): Promise<void> {
  if (!canInstall()) throw new Error(`install Debian's ${pkg} (apt-get install ${pkg}): it is needed here`);
  log(`[tools] installing ${pkg} from Debian's packages`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await exec('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
  await exec('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, maxBuffer: 64 * 1024 * 1024 });
}

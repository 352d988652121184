/**
 * The worker's image, built as `npm run image` builds it and checked as a registry's user would find it:
 * its config (non-root, entrypoint), what it holds (no dev dependencies, Helm, git, ssh-keygen), and the
 * worker in it really starting and polling Temporal. No container runtime runs here: the image is
 * unpacked (skopeo, umoci) and its commands run under chroot as the image's user, with /proc mounted as a
 * runtime would. What this cannot show: the image under a real runtime's namespaces and cgroups.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildImage, imageUser, type BuiltImage } from '../../src/tools/image.js';
import { ensureDebianTool } from '../../src/tools/debian.js';
import { freePort } from '../../src/tools/dev-server.js';
import { minimumHelm } from '../../src/common/helm-binary.js';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
let image: BuiltImage;
let rootfs = '';
const work = mkdtempSync(join(tmpdir(), 'image-test-'));

/** Runs a command in the unpacked image as its user, with its PATH and HOME, and nothing of ours. */
function inImage(command: string[], env: Record<string, string> = {}) {
  const vars = Object.entries({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: imageUser.home, ...env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  return exec('chroot', [
    `--userspec=${imageUser.uid}:${imageUser.gid}`,
    rootfs,
    '/usr/bin/env',
    '-i',
    ...vars,
    ...command,
  ]);
}

beforeAll(async () => {
  image = await buildImage(root, join(work, 'out'), () => undefined);
  const [skopeo, umoci] = [await ensureDebianTool('skopeo'), await ensureDebianTool('umoci')];
  await exec(skopeo, ['copy', '-q', `oci-archive:${image.archive}`, `oci:${join(work, 'layout')}:image`]);
  await exec(umoci, ['unpack', '--image', `${join(work, 'layout')}:image`, join(work, 'bundle')]);
  rootfs = join(work, 'bundle/rootfs');
}, 600_000);

afterAll(async () => {
  await exec('umount', [join(rootfs, 'proc')]).catch(() => undefined);
  await exec('rm', ['-rf', work]);
});

describe('the worker image', { timeout: 120_000 }, () => {
  it('is an OCI image that runs as a non-root user with `rollout` as its entrypoint', async () => {
    const skopeo = await ensureDebianTool('skopeo');
    const { stdout } = await exec(skopeo, ['inspect', '--config', `oci-archive:${image.archive}`]);
    const config = JSON.parse(stdout) as {
      os: string;
      architecture: string;
      config: { User: string; Entrypoint: string[]; Labels: Record<string, string> };
    };
    expect(config.config.User).toBe('10001:10001');
    expect(config.config.Entrypoint).toEqual(['rollout']);
    expect(config.config.Labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect([config.os, config.architecture]).toEqual(['linux', 'amd64']);
    expect(image.reference).toBe(`phased-rollout:${pkg.version}`);
  });

  it('holds the production dependencies only, the compiled app with its workflow bundle, Helm, git and ssh-keygen', async () => {
    const modules = readdirSync(join(rootfs, 'app/node_modules'));
    for (const dev of Object.keys(pkg.devDependencies)) expect(modules, `dev dependency ${dev}`).not.toContain(dev);
    expect(modules).toContain('@temporalio');
    expect(existsSync(join(rootfs, 'app/dist/workflow-bundle.js'))).toBe(true);
    expect(existsSync(join(rootfs, 'app/src')), 'no TypeScript sources').toBe(false);

    expect((await inImage(['rollout', '--version'])).stdout.trim()).toBe(pkg.version);
    const helm = (await inImage(['helm', 'version', '--short'])).stdout.trim();
    const [major, minor] = helm.replace(/^v/, '').split('.').map(Number);
    const [minMajor, minMinor] = minimumHelm.split('.').map(Number);
    expect((major ?? 0) * 1000 + (minor ?? 0), helm).toBeGreaterThanOrEqual((minMajor ?? 0) * 1000 + (minMinor ?? 0));
    expect((await inImage(['git', '--version'])).stdout).toMatch(/^git version 2\./);
    expect((await inImage(['sh', '-c', 'command -v ssh-keygen'])).stdout.trim()).toBe('/usr/bin/ssh-keygen');
    expect((await inImage(['id', '-u'])).stdout.trim()).toBe('10001');
  });

  it('starts the worker, which connects to Temporal, polls, and reports ready on its probe; SIGTERM ends it', async () => {
    await exec('mount', ['-t', 'proc', 'proc', join(rootfs, 'proc')]);
    const port = await freePort();
    const vars = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: imageUser.home,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      ROLLOUT_TASK_QUEUE: `image-${port}`,
      ROLLOUT_HEALTH_ADDRESS: `127.0.0.1:${port}`,
    };
    const child = spawn(
      'chroot',
      [
        `--userspec=${imageUser.uid}:${imageUser.gid}`,
        rootfs,
        '/usr/bin/env',
        '-i',
        ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
        'rollout-worker',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let ready = '';
      for (let i = 0; i < 60 && !ready.startsWith('ok'); i++) {
        await new Promise((r) => setTimeout(r, 500));
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.text(),
          () => '',
        );
      }
      expect(ready.trim(), log).toBe('ok: polling, Temporal answers');
      // Not on a terminal: JSON lines.
      expect(
        log.split('\n').find((l) => l.includes('"state":"RUNNING"')),
        log,
      ).toBeDefined();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, log).toBe(0);
  });
});

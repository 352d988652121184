/**
 * The release source adapter against real git repositories (file:// URLs, git from Debian) and real
 * files: pinning, fetching a commit once under concurrent activities, and every refusal naming what is wrong.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { Unreachable } from '../../src/adapters/errors.js';
import { classifyGit, digestPath, SourceFiles } from '../../src/adapters/source.js';
import { FailureType } from '../../src/domain/failure-types.js';
import type { PinnedSource } from '../../src/domain/types.js';
import { freePort } from '../../src/tools/dev-server.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-C', cwd, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();

let repo: string;
let url: string;
let first: string;
let second: string;

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'config-repo-'));
  git(repo, 'init', '--quiet', '--initial-branch=main');
  mkdirSync(join(repo, 'plans'));
  mkdirSync(join(repo, 'overlays'));
  writeFileSync(join(repo, 'overlays', 'base.yaml'), 'replicas: 1\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'first');
  first = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'tag', 'v1');
  writeFileSync(join(repo, 'overlays', 'base.yaml'), 'replicas: 2\n');
  git(repo, 'commit', '--quiet', '-am', 'second');
  second = git(repo, 'rev-parse', 'HEAD');
  url = `file://${repo}`;
});

const files = () => new SourceFiles({ git: 'git', cacheDir: mkdtempSync(join(tmpdir(), 'sources-')) });
const at = (commit: string): PinnedSource => ({ kind: 'git', url, ref: 'main', commit, path: 'plans' });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('git sources', () => {
  it('resolves a branch, a tag and a full SHA to the commit they name now', async () => {
    const f = files();
    expect(await f.resolveRef(url, 'main')).toBe(second);
    expect(await f.resolveRef(url, 'v1')).toBe(first);
    expect(await f.resolveRef(url, first)).toBe(first);
  });

  it('a ref that does not exist is a final error naming the ref and the repository', async () => {
    const err = await failure(files().resolveRef(url, 'no-such-branch'));
    expect(err.type).toBe(FailureType.SourceFile);
    expect(err.message).toBe(`ref no-such-branch does not exist in ${url}`);
  });

  it('reads files at the pinned commit, whatever the branch says now', async () => {
    const f = files();
    const path = await f.path(at(first), '../overlays/base.yaml');
    expect(execFileSync('cat', [path], { encoding: 'utf8' })).toBe('replicas: 1\n');
    expect(execFileSync('cat', [await f.path(at(second), '../overlays/base.yaml')], { encoding: 'utf8' })).toBe(
      'replicas: 2\n',
    );
  });

  it('fetches a commit once however many activities ask at the same time', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'sources-'));
    const f = new SourceFiles({ git: 'git', cacheDir });
    const a = new SourceFiles({ git: 'git', cacheDir }); // a second worker process on the same machine
    const paths = await Promise.all([
      ...Array.from({ length: 6 }, () => f.path(at(second), '../overlays/base.yaml')),
      a.path(at(second), '../overlays/base.yaml'),
    ]);
    expect(new Set(paths).size).toBe(1);
    expect(readdirSync(cacheDir)).toEqual([second]); // no half-made checkout left beside it
  });

  it('refuses a path outside the repository and a file missing at the commit', async () => {
    const f = files();
    const outside = await failure(f.path(at(first), '../../etc/passwd'));
    expect(outside.message).toBe(`../../etc/passwd is outside the repository ${url} (relative to plans)`);
    const missing = await failure(f.path(at(first), '../overlays/lab-9.yaml'));
    expect(missing.message).toBe(
      `../overlays/lab-9.yaml is not in ${url} at commit ${first} (looked for overlays/lab-9.yaml)`,
    );
  });

  it('refuses a symlink that leaves the repository, at any depth; one that stays inside keeps working', async () => {
    // A file and a folder of the worker's machine, outside any repository.
    const outside = mkdtempSync(join(tmpdir(), 'worker-files-'));
    writeFileSync(join(outside, 'secret.yaml'), 'leakedToken: s3cr3t\n');
    mkdirSync(join(outside, 'chart'));
    const linked = mkdtempSync(join(tmpdir(), 'linked-repo-'));
    git(linked, 'init', '--quiet', '--initial-branch=main');
    mkdirSync(join(linked, 'plans'));
    mkdirSync(join(linked, 'overlays'));
    mkdirSync(join(linked, 'charts', 'app', 'templates'), { recursive: true });
    writeFileSync(join(linked, 'overlays', 'base.yaml'), 'replicas: 1\n');
    writeFileSync(join(linked, 'charts', 'app', 'Chart.yaml'), 'name: app\n');
    symlinkSync(join(outside, 'secret.yaml'), join(linked, 'overlays', 'leak.yaml'));
    symlinkSync(join(outside, 'chart'), join(linked, 'charts', 'elsewhere'));
    symlinkSync('leak.yaml', join(linked, 'overlays', 'chain.yaml'));
    symlinkSync('../../../../../../../../..' + join(outside, 'secret.yaml'), join(linked, 'overlays', 'dots.yaml'));
    symlinkSync(join(outside, 'secret.yaml'), join(linked, 'charts', 'app', 'templates', 'values.yaml'));
    symlinkSync('base.yaml', join(linked, 'overlays', 'alias.yaml'));
    git(linked, 'add', '-A');
    git(linked, 'commit', '--quiet', '-m', 'links');
    const f = files();
    const pinned: PinnedSource = {
      kind: 'git',
      url: `file://${linked}`,
      ref: 'main',
      commit: git(linked, 'rev-parse', 'HEAD'),
      path: 'plans',
    };
    const leaves = (ref: string, shown = ref) =>
      new RegExp(
        `^${shown.replace(/[.]/g, '\\.')} leaves the repository file://.*: it is a symlink that resolves to ${outside}/`,
      );
    expect((await failure(f.path(pinned, '../overlays/leak.yaml'))).message).toMatch(leaves('../overlays/leak.yaml'));
    expect((await failure(f.path(pinned, '../overlays/chain.yaml'))).message).toMatch(leaves('../overlays/chain.yaml'));
    expect((await failure(f.path(pinned, '../overlays/dots.yaml'))).message).toMatch(leaves('../overlays/dots.yaml'));
    expect((await failure(f.path(pinned, '../charts/elsewhere'))).message).toMatch(leaves('../charts/elsewhere'));
    // A local chart folder with a link inside it that leaves: Helm would read it.
    expect((await failure(f.path(pinned, '../charts/app'))).message).toMatch(
      leaves('../charts/app', '../charts/app/templates/values.yaml'),
    );
    const alias = await f.path(pinned, '../overlays/alias.yaml');
    expect(readFileSync(alias, 'utf8')).toBe('replicas: 1\n');
  });

  it('a commit the repository does not have is final; a repository that does not answer is retried', async () => {
    const gone = await failure(files().path(at('0'.repeat(40)), 'x'));
    expect(gone.type).toBe(FailureType.SourceFile);
    const port = await freePort(); // nothing listens there
    const unreachable = { ...at(first), url: `git://127.0.0.1:${port}/config.git` };
    const err = await files()
      .path(unreachable, 'x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unreachable);
    expect((err as Error).message).toMatch(/^git fetch git:\/\/127\.0\.0\.1:\d+\/config\.git: .*[Cc]onnection refused/);
  });

  it('over HTTP: a server that refuses connections is retried; one that refuses credentials says authentication failed', async () => {
    const closed = await freePort(); // nothing listens there
    const refused = await files()
      .resolveRef(`http://127.0.0.1:${closed}/config.git`, 'main')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Unreachable);
    expect((refused as Error).message).toMatch(/Couldn't connect to server|Failed to connect/);

    // A git server that wants credentials, and takes none.
    const asked: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      asked.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const repoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/config.git`;
    try {
      const none = await failure(files().resolveRef(repoUrl, 'main'));
      expect(none.message).toMatch(
        new RegExp(`^authentication failed for ${repoUrl}: it asked for credentials and none were given`),
      );
      const f = new SourceFiles({
        git: 'git',
        cacheDir: mkdtempSync(join(tmpdir(), 'sources-')),
        env: { ...process.env, CONFIG_TOKEN: 'wrong' },
      });
      const wrong = await failure(f.resolveRef(repoUrl, 'main', 'CONFIG_TOKEN'));
      expect(wrong.message).toMatch(
        new RegExp(`^authentication failed for ${repoUrl}: the token in CONFIG_TOKEN was refused`),
      );
      expect(wrong.message).not.toContain('wrong');
      expect(
        asked.some((h) => h?.startsWith('Basic ')),
        'the token went as a header',
      ).toBe(true);
    } finally {
      server.close();
    }
  });

  it('classifies what git says: refusals of access are final, connection trouble is not', () => {
    expect(classifyGit('fatal: unable to access: Could not resolve host: example.invalid')).toBeInstanceOf(Unreachable);
    expect(classifyGit('Permission denied (publickey). fatal: Could not read from remote repository.')).toBeInstanceOf(
      ApplicationFailure,
    );
    expect(classifyGit('fatal: remote error: upload-pack: not our ref abc')).toBeInstanceOf(ApplicationFailure);
  });

  it('a token named by the plan must be set on the machine, and never shows in what git is given on its command line', async () => {
    const err = await failure(files().resolveRef(url, 'main', 'NO_SUCH_TOKEN_VAR'));
    expect(err.message).toBe(
      "the plan's spec.source.git.tokenEnv names NO_SUCH_TOKEN_VAR, which is not set on this machine",
    );
    // With the variable set, git gets it through its environment (GIT_CONFIG_*), and a file:// fetch works.
    const f = new SourceFiles({
      git: 'git',
      cacheDir: mkdtempSync(join(tmpdir(), 'sources-')),
      env: { ...process.env, CONFIG_TOKEN: 's3cret' },
    });
    expect(await f.resolveRef(url, 'main', 'CONFIG_TOKEN')).toBe(second);
  });
});

describe('local sources', () => {
  it('pins files by content: the same content passes, a changed file is refused naming both digests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-dir-'));
    writeFileSync(join(dir, 'values.yaml'), 'a: 1\n');
    const digest = await digestPath(join(dir, 'values.yaml'));
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const source: PinnedSource = { kind: 'local', baseDir: dir, digests: { 'values.yaml': digest }, digest: '' };
    const f = files();
    expect(await f.path(source, 'values.yaml')).toBe(join(dir, 'values.yaml'));
    writeFileSync(join(dir, 'values.yaml'), 'a: 2\n');
    const err = await failure(f.path(source, 'values.yaml'));
    expect(err.type).toBe(FailureType.SourceChanged);
    expect(err.nonRetryable).toBe(true);
    const found = await digestPath(join(dir, 'values.yaml'));
    expect(err.message).toContain(`values.yaml changed since the rollout started: expected ${digest}, found ${found}`);
  });

  it('refuses a local file the rollout did not pin when it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plans-'));
    writeFileSync(join(dir, 'values.yaml'), 'a: 1\n');
    writeFileSync(join(dir, 'other.yaml'), 'b: 1\n');
    const digest = await digestPath(join(dir, 'values.yaml'));
    const source: PinnedSource = { kind: 'local', baseDir: dir, digests: { 'values.yaml': digest }, digest: '' };
    const err = await failure(files().path(source, 'other.yaml'));
    expect([err.type, err.nonRetryable]).toEqual([FailureType.SourceChanged, true]);
    expect(err.message).toBe(
      'other.yaml was not pinned when the rollout started (it pinned 1 files by digest); the rollout reads only the files it was started with',
    );
  });

  it("digests a local chart's folder by every file's name and content", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'Chart.yaml'), 'version: 1.0.0\n');
    writeFileSync(join(dir, 'templates', 'a.yaml'), 'kind: ConfigMap\n');
    const before = await digestPath(dir);
    expect(await digestPath(dir)).toBe(before);
    writeFileSync(join(dir, 'templates', 'a.yaml'), 'kind: Secret\n');
    expect(await digestPath(dir)).not.toBe(before);
  });

  it('a file missing on the worker says a git source is what a worker without the files needs', async () => {
    const source: PinnedSource = { kind: 'local', baseDir: '/nonexistent', digests: {}, digest: '' };
    const err = await failure(files().path(source, 'values.yaml'));
    expect(err.message).toBe(
      "values.yaml is not on this worker (looked for /nonexistent/values.yaml); a worker without the plan's folder needs a git source (spec.source.git)",
    );
  });
});

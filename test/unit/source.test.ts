/**
 * The release source adapter against real git repositories (file:// URLs, git from Debian) and real
 * files: pinning, fetching a commit once under concurrent activities, and every refusal naming what is wrong.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { Unreachable } from '../../src/adapters/errors.js';
import { classifyGit, digestPath, SourceFiles } from '../../src/adapters/source.js';
import { Credentials, urlWithin } from '../../src/adapters/credentials.js';
import { createSinkUrls } from '../../src/adapters/webhooks.js';
import { createPreflightActivities } from '../../src/activities/preflight.js';
import type { Drivers } from '../../src/drivers/driver.js';
import type { KubeFactory } from '../../src/adapters/kube.js';
import type { ReleaseSpec } from '../../src/plan/schema.js';
import { MockActivityEnvironment } from '@temporalio/testing';
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
      const f = withCredentials(
        `credentials: [{ name: config-repo, url: "http://127.0.0.1:${(server.address() as AddressInfo).port}/", tokenEnv: CONFIG_TOKEN }]`,
        { CONFIG_TOKEN: 'wrong' },
      );
      const wrong = await failure(f!.resolveRef(repoUrl, 'main', 'config-repo'));
      expect(wrong.message).toMatch(
        new RegExp(`^authentication failed for ${repoUrl}: credential config-repo was refused`),
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

  it('a credential the worker declares, with its token set, reaches git through its environment only', async () => {
    const f = withCredentials('credentials: [{ name: local, url: "file:///", tokenEnv: CONFIG_TOKEN }]', {});
    expect(f).toBeUndefined(); // file:// is not a URL a token may be declared for
    const empty = withCredentials(
      'credentials: [{ name: config-repo, url: "http://127.0.0.1:1/", tokenEnv: NO_SUCH_TOKEN_VAR }]',
      {},
    );
    const err = await failure(empty!.resolveRef('http://127.0.0.1:1/config.git', 'main', 'config-repo'));
    expect(err.message).toBe(
      'credential config-repo: its token (environment variable NO_SUCH_TOKEN_VAR) is empty or missing on this worker',
    );
  });
});

/** A SourceFiles whose worker declares the credentials in `yaml` (a ROLLOUT_CREDENTIALS file's text). */
function withCredentials(
  yaml: string,
  env: NodeJS.ProcessEnv,
  undeclared: 'refuse' | 'git-helpers' = 'refuse',
): SourceFiles | undefined {
  let credentials: Credentials;
  try {
    credentials = Credentials.parse(yaml, 'credentials.yaml', env);
  } catch {
    return undefined;
  }
  return new SourceFiles({ git: 'git', cacheDir: mkdtempSync(join(tmpdir(), 'sources-')), credentials, undeclared });
}

/** A loopback git server that records every request's path and Authorization header and answers `answer`. */
async function recordingServer(
  answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) =>
    void res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('no'),
) {
  const seen: { path: string; authorization?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    answer(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { seen, base, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("the worker's credentials, bound to the URLs they may go to", () => {
  it('urlWithin: same scheme, host and port, and a path under the prefix at a segment boundary', () => {
    const prefix = 'https://git.example.com/platform/';
    expect(urlWithin('https://git.example.com/platform/config.git', prefix)).toBe(true);
    expect(urlWithin('https://git.example.com/platform/a/b.git', 'https://git.example.com/platform')).toBe(true);
    expect(urlWithin('https://GIT.example.com:443/platform/config.git', prefix)).toBe(true);
    for (const url of [
      'https://git.example.com/platform-evil/config.git',
      'https://git.example.com/platform/../other/config.git',
      'https://git.example.com/platform/%2e%2e/other/config.git',
      'https://git.example.com.evil.org/platform/config.git',
      'https://git.example.com:8443/platform/config.git',
      'http://git.example.com/platform/config.git',
      'https://evil.org@git.example.com/platform/config.git',
      'https://git.example.com@evil.org/platform/config.git',
      'git@git.example.com:platform/config.git',
      'not a url',
    ]) {
      expect(urlWithin(url, prefix), url).toBe(false);
    }
  });

  it("a plan naming the worker's credential for another host is refused, and that host hears nothing", async () => {
    const allowed = await recordingServer();
    const attacker = await recordingServer();
    try {
      const f = withCredentials(
        `credentials: [{ name: config-repo, url: "${allowed.base}/platform/", tokenEnv: T1_WORKER_SECRET }]`,
        { T1_WORKER_SECRET: 'worker-secret-value' },
      )!;
      for (const url of [
        `${attacker.base}/platform/config.git`,
        `${allowed.base}/platform-evil/config.git`,
        `${allowed.base}/platform/../other/config.git`,
      ]) {
        const err = await failure(f.resolveRef(url, 'main', 'config-repo'));
        expect(err.message).toBe(`credential config-repo may only be sent to ${allowed.base}/platform/, not to ${url}`);
        expect(err.nonRetryable).toBe(true);
        expect(f.credentialRefusal({ url, credential: 'config-repo' })).toBe(err.message);
      }
      expect(attacker.seen).toEqual([]);
      expect(allowed.seen).toEqual([]);

      // Under its prefix, it goes: the server receives username and token as HTTP Basic.
      await failure(f.resolveRef(`${allowed.base}/platform/config.git`, 'main', 'config-repo'));
      const sent = allowed.seen.find((s) => s.authorization);
      expect(sent?.authorization).toBe(`Basic ${Buffer.from('x-access-token:worker-secret-value').toString('base64')}`);
      expect(sent?.path).toMatch(/^\/platform\/config\.git\//);
    } finally {
      await allowed.close();
      await attacker.close();
    }
  });

  it('a server under the prefix that redirects elsewhere does not carry the credential there', async () => {
    const elsewhere = await recordingServer();
    const redirecting = await recordingServer(
      (req, res) => void res.writeHead(302, { location: `${elsewhere.base}${req.url ?? '/'}` }).end(),
    );
    try {
      const f = withCredentials(
        `credentials: [{ name: config-repo, url: "${redirecting.base}/", tokenFile: ${JSON.stringify(tokenFile('tok-123'))} }]`,
        {},
      )!;
      await failure(f.resolveRef(`${redirecting.base}/config.git`, 'main', 'config-repo'));
      expect(redirecting.seen.length).toBeGreaterThan(0);
      expect(redirecting.seen[0]?.authorization).toBe(
        `Basic ${Buffer.from('x-access-token:tok-123').toString('base64')}`,
      );
      // Not followed at all (curl would strip the header itself; git is not asked to rely on that).
      expect(elsewhere.seen).toEqual([]);
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });

  it('a credential the machine does not declare: refused on the worker, left to git on a person machine', async () => {
    const server = await recordingServer();
    try {
      const url = `${server.base}/config.git`;
      const worker = withCredentials('credentials: []', {})!;
      expect(worker.credentialRefusal({ url, credential: 'config-repo' })).toBe(
        'credential config-repo is not declared on this worker (ROLLOUT_CREDENTIALS (credentials.yaml))',
      );
      expect((await failure(worker.resolveRef(url, 'main', 'config-repo'))).message).toBe(
        worker.credentialRefusal({ url, credential: 'config-repo' }),
      );
      expect(server.seen).toEqual([]);
      const cli = withCredentials('credentials: []', {}, 'git-helpers')!;
      expect(cli.credentialRefusal({ url, credential: 'config-repo' })).toBeUndefined();
      const err = await failure(cli.resolveRef(url, 'main', 'config-repo'));
      expect(err.message).toContain(
        "the plan names credential config-repo, which this machine does not declare (ROLLOUT_CREDENTIALS (credentials.yaml)), and git's own credential helpers gave none",
      );
      expect(server.seen.length).toBeGreaterThan(0);
      expect(server.seen.filter((s) => s.authorization)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a bad credentials file names the file and the field', () => {
    const bad = (yaml: string) => {
      try {
        Credentials.parse(yaml, 'creds.yaml');
        return 'parsed';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(bad('credentials: [{ name: a, url: "https://h/", tokenEnv: A, tokenFile: /a }]')).toBe(
      'creds.yaml: credentials[0]: set exactly one of tokenEnv or tokenFile',
    );
    expect(bad('credentials: [{ name: a, url: "ssh://h/", tokenEnv: A }]')).toBe(
      'creds.yaml: credentials[0].url: must be an http:// or https:// URL (a token is an HTTP header)',
    );
    expect(bad('credentials: [{ name: a, url: "https://u:p@h/", tokenEnv: A }]')).toBe(
      'creds.yaml: credentials[0].url: must not carry credentials',
    );
    expect(
      bad('credentials: [{ name: a, url: "https://h/", tokenEnv: A }, { name: a, url: "https://h/", tokenEnv: B }]'),
    ).toBe('creds.yaml: credentials[1].name: a is declared twice');
    expect(bad('credential: []')).toMatch(/^creds\.yaml: \(top\): Unrecognized key/);
    expect(bad('credentials: [{ name: a, url: "https://h/", tokenEnv: A }]')).toBe('parsed');
  });

  it("a sink's URL file is a name in the worker's sink URL folder; links out of it are refused", async () => {
    const folder = mkdtempSync(join(tmpdir(), 'sinks-'));
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(folder, 'ops'), 'http://127.0.0.1:1/hook\n');
    writeFileSync(join(outside, 'secret'), 'leakedToken: x\n');
    symlinkSync(join(outside, 'secret'), join(folder, 'leak'));
    symlinkSync('ops', join(folder, 'alias'));
    const urlOf = createSinkUrls({
      env: { ROLLOUT_SINK_OPS: 'http://127.0.0.1:1/env', OTHER_SECRET: 'x' },
      credentials: Credentials.parse(`sinkUrlFolder: ${JSON.stringify(folder)}`, 'credentials.yaml'),
    });
    const sink = (urlFrom: { env?: string; file?: string }) => ({ name: 'ops', type: 'webhook' as const, urlFrom });
    expect(await urlOf(sink({ file: 'ops' }))).toBe('http://127.0.0.1:1/hook');
    expect(await urlOf(sink({ file: 'alias' }))).toBe('http://127.0.0.1:1/hook');
    expect(await urlOf(sink({ env: 'ROLLOUT_SINK_OPS' }))).toBe('http://127.0.0.1:1/env');
    const refused = async (urlFrom: { env?: string; file?: string }) => failure(urlOf(sink(urlFrom)));
    expect((await refused({ file: 'leak' })).message).toMatch(
      /^sink ops: leak is a symlink that leaves the sink URL folder \(it resolves to .*secret\)$/,
    );
    expect((await refused({ file: '../outside/secret' })).message).toBe(
      "sink ops: urlFrom.file must be a file name in the worker's sink URL folder, not ../outside/secret",
    );
    expect((await refused({ file: 'absent' })).message).toBe('sink ops: no file absent in the sink URL folder');
    expect((await refused({ env: 'OTHER_SECRET' })).message).toBe(
      'sink ops: environment variable OTHER_SECRET is not a ROLLOUT_SINK_ variable',
    );
    const none = createSinkUrls({ credentials: Credentials.none() });
    expect((await failure(none(sink({ file: 'ops' })))).message).toBe(
      "sink ops: urlFrom.file needs a sinkUrlFolder in the worker's no ROLLOUT_CREDENTIALS file",
    );
  });
});

function tokenFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'token-')), 'token');
  writeFileSync(path, `${content}\n`);
  return path;
}

describe('local sources', () => {
  it('pins files by content: the same content passes, a changed file is refused naming the pinned digest only', async () => {
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
    expect(err.message).toContain(
      `values.yaml changed since the rollout started: its content no longer has the digest pinned then (${digest})`,
    );
    expect(err.message, "the worker's file's digest is not told").not.toContain(found);
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

describe('preflight asks the worker for what the plan names of its configuration', () => {
  it('refuses a start whose credential or sink URL the worker lacks, naming each, before reading a file', async () => {
    const files = withCredentials(
      'credentials: [{ name: other-repo, url: "https://git.example.com/other/", tokenEnv: T }]',
      {},
    )!;
    const activities = createPreflightActivities({
      drivers: {} as Drivers,
      files,
      kube: {} as KubeFactory,
      credentials: Credentials.none({}),
    });
    const source: PinnedSource = {
      kind: 'git',
      url: 'https://git.example.com/platform/config.git',
      ref: 'main',
      commit: 'f'.repeat(40),
      path: '.',
      credential: 'other-repo',
    };
    const release = { chart: 'x', releaseName: 'x', namespace: 'x', values: [] } as unknown as ReleaseSpec;
    const err = await failure(
      new MockActivityEnvironment().run(activities.preflight.bind(activities), {
        source,
        components: [
          { name: 'operator', release, verify: { workloads: 'release' as const, http: [] } },
          { name: 'chart', release, verify: { workloads: 'release' as const, http: [] } },
        ],
        versions: { operator: '1.0.0', chart: '1.0.0' },
        sinks: [{ name: 'ops', type: 'webhook' as const, urlFrom: { env: 'ROLLOUT_SINK_OPS' } }],
        clusters: [],
      }),
    );
    expect(err.type).toBe(FailureType.PreflightFailed);
    expect(err.message).toBe(
      'preflight found 2 problem(s); no cluster was touched:\n' +
        '- spec.source.git.credential: credential other-repo may only be sent to https://git.example.com/other/, not to https://git.example.com/platform/config.git\n' +
        '- spec.notifications: sink ops: no URL in environment variable ROLLOUT_SINK_OPS on this worker',
    );
  });
});

/**
 * The release source adapter: where the plan's files (base values, overlays, local charts, the
 * synchronizer's template) come from, pinned for a rollout's whole life.
 * - A git source is a commit of the config repository, fetched by the worker itself into a cache keyed by
 *   the commit (`git fetch --depth 1 URL SHA`), so a worker needs none of the CLI's files.
 * - A local source is the plan's folder on the worker's disk, with the content digest of every file the
 *   plan references recorded at start: a file whose content changed since is refused, never rolled.
 * Credentials stay on the worker: git's own credential helpers and SSH keys, or a credential the worker
 * declares (adapters/credentials.ts) and the plan names, sent only to the URLs it is bound to, passed to git
 * through its environment, never on a command line, and never to a host a redirect points at.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, realpath, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/failure-types.js';
import type { PinnedSource } from '../domain/types.js';
import { Unreachable } from './errors.js';
import { envValue } from '../common/env.js';
import { Credentials } from './credentials.js';

/** The sha256 of a file, or of a folder's files (names and contents, sorted): a local chart is a folder. */
export async function digestPath(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await lstat(path);
  if (!info.isDirectory()) {
    hash.update(await readFile(path));
    return `sha256:${hash.digest('hex')}`;
  }
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const files = await Promise.all(
      entries.map(async (e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])),
    );
    return files.flat();
  };
  for (const file of (await walk(path)).sort()) {
    hash.update(`${relative(path, file).split(sep).join('/')}\0`);
    hash.update(await readFile(file));
    hash.update('\0');
  }
  return `sha256:${hash.digest('hex')}`;
}

export interface GitSourceOptions {
  /** The git binary. */
  git: string;
  /** Folder of the per-worker checkout cache, one folder per commit. */
  cacheDir: string;
  /** The credentials declared on this machine, which a plan may name; none by default. */
  credentials?: Credentials;
  /**
   * On the CLI a credential this machine does not declare is left to git's own helpers (a person's
   * machine has its own way in); on the worker (the default) it is refused, naming it.
   */
  undeclared?: 'refuse' | 'git-helpers';
}

/**
 * Resolves the plan's file references to paths on this machine, verified: a git source's files at the
 * pinned commit, a local source's files only while their content is what was started.
 */
export class SourceFiles {
  private readonly checkouts = new Map<string, Promise<string>>();
  private readonly credentials: Credentials;

  constructor(private readonly opts: GitSourceOptions) {
    this.credentials = opts.credentials ?? Credentials.none();
  }

  /** Whether this machine sends the credential a plan names (or leaves the way in to git's own helpers). */
  private sends(credential: string | undefined): credential is string {
    if (!credential) return false;
    return this.opts.undeclared !== 'git-helpers' || this.credentials.has(credential);
  }

  /** The path of one file reference (as written in the plan, relative to the plan's folder). */
  async path(source: PinnedSource, ref: string): Promise<string> {
    if (source.kind === 'local') return this.localPath(source, ref);
    const root = await this.checkout(source);
    const base = resolve(root, source.path);
    const path = resolve(base, ref);
    if (path !== root && !path.startsWith(root + sep)) {
      throw ApplicationFailure.nonRetryable(
        `${ref} is outside the repository ${source.url} (relative to ${source.path})`,
        FailureType.SourceFile,
      );
    }
    if (!existsSync(path)) {
      throw ApplicationFailure.nonRetryable(
        `${ref} is not in ${source.url} at commit ${source.commit} (looked for ${relative(root, path) || '.'})`,
        FailureType.SourceFile,
      );
    }
    return insideCheckout(root, ref, path, source.url);
  }

  private async localPath(source: Extract<PinnedSource, { kind: 'local' }>, ref: string): Promise<string> {
    const path = isAbsolute(ref) ? ref : resolve(source.baseDir, ref);
    const expected = source.digests[ref];
    if (!existsSync(path)) {
      throw ApplicationFailure.nonRetryable(
        `${ref} is not on this worker (looked for ${path}); a worker without the plan's folder needs a git source (spec.source.git)`,
        FailureType.SourceFile,
      );
    }
    if (expected === undefined) {
      throw ApplicationFailure.nonRetryable(
        `${ref} was not pinned when the rollout started (it pinned ${Object.keys(source.digests).length} files by digest); ` +
          'the rollout reads only the files it was started with',
        FailureType.SourceChanged,
      );
    }
    // Says only that the content differs: the worker's file's digest would be a hint at what it holds.
    if ((await digestPath(path)) !== expected) {
      throw ApplicationFailure.nonRetryable(
        `${ref} changed since the rollout started: its content no longer has the digest pinned then (${expected}); ` +
          'the rollout rolls only what it was started with: restore the file, or start a new rollout',
        FailureType.SourceChanged,
      );
    }
    return path;
  }

  /** The commit checked out in the cache (fetched once per worker; safe under concurrent activities). */
  checkout(source: Extract<PinnedSource, { kind: 'git' }>): Promise<string> {
    const dir = join(this.opts.cacheDir, source.commit);
    let pending = this.checkouts.get(dir);
    if (!pending) {
      pending = this.fetchInto(source, dir);
      this.checkouts.set(dir, pending);
      pending.catch(() => this.checkouts.delete(dir));
    }
    return pending;
  }

  private async fetchInto(source: Extract<PinnedSource, { kind: 'git' }>, dir: string): Promise<string> {
    if (existsSync(join(dir, '.git'))) return dir;
    await mkdir(this.opts.cacheDir, { recursive: true });
    // Into a folder of its own, then renamed: another worker process on this machine may race for it.
    const tmp = await mkdtemp(join(this.opts.cacheDir, `.${source.commit.slice(0, 12)}-`));
    try {
      await this.git(tmp, ['init', '--quiet']);
      await this.git(tmp, ['fetch', '--quiet', '--depth', '1', '--no-tags', source.url, source.commit], source);
      await this.git(tmp, ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', 'FETCH_HEAD']);
      const head = (await this.git(tmp, ['rev-parse', 'HEAD'])).trim();
      if (head !== source.commit) throw new Error(`fetched ${head}, not ${source.commit}`);
      try {
        await rename(tmp, dir);
      } catch (err) {
        if (!existsSync(join(dir, '.git'))) throw err;
      }
      return dir;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The commit a ref names now (`git ls-remote`), for `rollout start` to pin; a full SHA is taken as it is. */
  async resolveRef(url: string, ref: string, credential?: string): Promise<string> {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    const out = await this.git(undefined, ['ls-remote', '--', url, ref, `refs/heads/${ref}`, `refs/tags/${ref}^{}`], {
      url,
      credential,
    });
    const lines = out.trim().split('\n').filter(Boolean);
    // A peeled tag (^{}) names the commit; prefer it, then a branch or tag of that exact name.
    const pick =
      lines.find((l) => l.endsWith(`refs/tags/${ref}^{}`)) ??
      lines.find((l) => l.endsWith(`\t${ref}`) || l.endsWith(`refs/heads/${ref}`) || l.endsWith(`refs/tags/${ref}`));
    const sha = pick?.split('\t')[0];
    if (!sha) {
      throw ApplicationFailure.nonRetryable(`ref ${ref} does not exist in ${url}`, FailureType.SourceFile);
    }
    return sha;
  }

  /** Why this machine would not send the plan's credential to its repository, or undefined (for preflight). */
  credentialRefusal(source: { url: string; credential?: string }): string | undefined {
    return this.sends(source.credential) ? this.credentials.refusal(source.credential, source.url) : undefined;
  }

  private async git(
    cwd: string | undefined,
    args: string[],
    auth?: { url: string; credential?: string },
  ): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    const { credentials } = this;
    const named = auth?.credential;
    if (auth && this.sends(named)) {
      // Checked against the credential's URL prefix, then sent as an extra header from the environment:
      // never in the URL, the arguments or the history, and never to wherever a redirect points.
      const { url, header } = await credentials.authorize(named, auth.url);
      args = args.map((a) => (a === auth.url ? url : a));
      Object.assign(env, {
        GIT_CONFIG_COUNT: '2',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: header,
        GIT_CONFIG_KEY_1: 'http.followRedirects',
        GIT_CONFIG_VALUE_1: 'false',
      });
    }
    return new Promise((resolvePromise, reject) => {
      execFile(this.opts.git, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolvePromise(stdout);
        const text = `${stderr || err.message}`.trim().split('\n').slice(-3).join('; ');
        const what = `git ${args[0]} ${auth?.url ?? ''}`.trim();
        if (auth && authRefused.test(text)) {
          const whose = !named
            ? 'it asked for credentials and none were given (name a credential the worker declares in spec.source.git.credential, or give the machine a git credential helper)'
            : credentials.has(named)
              ? `credential ${named} was refused`
              : `it asked for credentials; the plan names credential ${named}, which this machine does not declare (${credentials.origin}), and git's own credential helpers gave none`;
          reject(
            ApplicationFailure.nonRetryable(
              `authentication failed for ${auth.url}: ${whose} (${what}: ${text})`,
              FailureType.SourceFile,
            ),
          );
          return;
        }
        reject(classifyGit(`${what}: ${text}`));
      });
    });
  }
}

/**
 * The reference's real path, once every symlink on the way (and, for a folder such as a local chart, every
 * symlink inside it) is known to stay in the checkout: a link committed to the repository that points at
 * a file of the worker's machine would otherwise hand that file to Helm, and into a cluster. A link that
 * stays inside keeps working.
 */
async function insideCheckout(root: string, ref: string, path: string, url: string): Promise<string> {
  const realRoot = await realpath(root);
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot + sep);
  const escape = (what: string, target: string) =>
    ApplicationFailure.nonRetryable(
      `${what} leaves the repository ${url}: it is a symlink that resolves to ${target}; ` +
        'a file reference must stay inside the repository',
      FailureType.SourceFile,
    );
  const real = await realpath(path);
  if (!inside(real)) throw escape(ref, real);
  if ((await lstat(real)).isDirectory()) {
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const entry = join(dir, e.name);
        if (e.isSymbolicLink()) {
          const target = await realpath(entry).catch(() => undefined);
          const shown = `${ref}/${relative(real, entry).split(sep).join('/')}`;
          if (target === undefined) {
            throw ApplicationFailure.nonRetryable(`${shown} is a broken symlink in ${url}`, FailureType.SourceFile);
          }
          if (!inside(target)) throw escape(shown, target);
        } else if (e.isDirectory() && e.name !== '.git') await walk(entry);
      }
    };
    await walk(real);
  }
  return real;
}

/** What git says when a server wants credentials it was not given, or refuses the ones it was. */
const authRefused =
  /could not read Username|could not read Password|Authentication failed|returned error: 40[13]|HTTP 40[13]/i;

/**
 * A repository that does not answer is retried; one that answers "no" (no such ref, no access) is final.
 * Over HTTP(S), curl's words for a server that refuses or drops the connection count as not answering.
 */
export function classifyGit(message: string): Error {
  const transient =
    /could not read from remote|connection refused|connection reset|timed out|could not resolve host|unable to connect|failed to connect|couldn't connect to server|empty reply from server|recv failure|early eof|the remote end hung up|HTTP 5\d\d|returned error: 5\d\d|error: 429/i;
  if (
    transient.test(message) &&
    !/not found|repository .* does not exist|access denied|permission denied|authentication/i.test(message)
  ) {
    return new Unreachable(message);
  }
  return ApplicationFailure.nonRetryable(message, FailureType.SourceFile);
}

/** The source adapter as the worker and the CLI build it: git from ROLLOUT_GIT, checkouts in `cacheDir`. */
export function sourceFilesFromEnv(
  defaultCacheDir: string,
  credentials: Credentials,
  undeclared: 'refuse' | 'git-helpers',
): SourceFiles {
  return new SourceFiles({
    git: envValue('ROLLOUT_GIT') ?? 'git',
    cacheDir: envValue('ROLLOUT_SOURCE_CACHE') ?? defaultCacheDir,
    credentials,
    undeclared,
  });
}

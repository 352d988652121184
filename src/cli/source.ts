import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { digestPath, sourceFilesFromEnv, type SourceFiles } from '../adapters/source.js';
import { Unreachable } from '../adapters/errors.js';
import type { PinnedSource } from '../domain/types.js';
import { fileReferences } from '../plan/resolve.js';
import type { RolloutPlan } from '../plan/schema.js';
import { cacheRoot } from '../common/cache-dir.js';
import { envValue } from '../common/env.js';
import { Credentials } from '../adapters/credentials.js';
import { CliError, exitCodes } from './errors.js';

/** The plan's source, pinned now, and the folder on this machine its files were checked in. */
export interface Pinned {
  source: PinnedSource;
  /** Where the plan's relative references point on this machine (the plan's folder, or the checkout's). */
  filesDir: string;
  /** For a git source: the checkout's root, and the repository and commit as messages name them. */
  repo?: { root: string; label: string };
}

/**
 * The same adapter the worker uses; the CLI keeps its own checkouts in the same per-user cache. A
 * credential the plan names is used when this machine declares it (ROLLOUT_CREDENTIALS); otherwise git's
 * own helpers and SSH keys are the person's way in.
 */
function sourceFiles(): SourceFiles {
  let credentials: Credentials;
  try {
    credentials = Credentials.load(envValue('ROLLOUT_CREDENTIALS'));
  } catch (err) {
    throw new CliError((err as Error).message, exitCodes.usage);
  }
  return sourceFilesFromEnv(join(cacheRoot(), 'sources'), credentials, 'git-helpers');
}

/**
 * Pins the plan's files: a git source's ref resolved to the commit it names now (and fetched, so its
 * files can be checked before anything starts), or the digest of every local file the plan references.
 * A ref that does not exist or a repository that does not answer is a CliError with exit 2: nothing starts.
 */
export async function pinSource(plan: RolloutPlan, baseDir: string): Promise<Pinned> {
  const git = plan.spec.source?.git;
  if (!git) {
    const digests: Record<string, string> = {};
    for (const { file } of fileReferences(plan)) {
      const path = resolve(baseDir, file);
      // A missing file is reported with the plan's other problems (planFileIssues), not here.
      if (existsSync(path)) digests[file] ??= await digestPath(path);
    }
    const all = Object.entries(digests)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([ref, d]) => `${ref} ${d}\n`)
      .join('');
    const digest = `sha256:${createHash('sha256').update(all).digest('hex')}`;
    return { source: { kind: 'local', baseDir, digests, digest }, filesDir: baseDir };
  }
  const files = sourceFiles();
  try {
    const commit = await files.resolveRef(git.url, git.ref, git.credential);
    const source: PinnedSource = {
      kind: 'git',
      url: git.url,
      ref: git.ref,
      commit,
      path: git.path,
      ...(git.credential ? { credential: git.credential } : {}),
    };
    const root = await files.checkout(source);
    return { source, filesDir: resolve(root, git.path), repo: { root, label: `${git.url} at ${commit.slice(0, 12)}` } };
  } catch (err) {
    if (err instanceof Unreachable) {
      throw new CliError(`spec.source.git: the repository ${git.url} does not answer: ${err.message}`, exitCodes.usage);
    }
    if (err instanceof ApplicationFailure) throw new CliError(`spec.source.git: ${err.message}`, exitCodes.usage);
    throw err;
  }
}

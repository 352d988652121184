import { homedir } from 'node:os';
import { join } from 'node:path';
import { envValue } from './env.js';

/**
 * The per-user cache: config repository checkouts of the worker and the CLI (`sources/`), and the tools
 * `npm run tools` builds for development. `PHASED_ROLLOUT_CACHE` overrides it, else `$XDG_CACHE_HOME` or
 * `~/.cache`, then `phased-rollout`.
 */
export function cacheRoot(): string {
  return (
    envValue('PHASED_ROLLOUT_CACHE') ?? join(envValue('XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'phased-rollout')
  );
}

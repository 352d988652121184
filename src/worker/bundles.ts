/**
 * How workflow code is bundled: one definition for `npm run build`, a worker running from sources, the
 * tests and the benchmarks, so that what they run is what production runs.
 *
 * Every module of the bundle is preloaded: evaluated once when the worker starts and shared by every
 * workflow, instead of once per workflow. That is safe because workflow modules hold no state of their
 * own (what a workflow keeps lives inside its function; module scope only defines functions, constants
 * and activity proxies), and the SDK freezes what it shares, so a module that did change shared state
 * would fail loudly rather than leak between workflows. It saves about 0.1 MiB and a module graph's
 * evaluation per workflow started (docs/benchmarks.md).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The prebuilt bundle's file name in dist/. */
export const bundleFile = 'workflow-bundle.js';

/** The bundle's entry module (compiled JavaScript beside this file, else the TypeScript source) and what to preload. */
export function bundleSource(): { workflowsPath: string; preloadModules: string[] } {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  const workflowsPath = existsSync(js) ? js : js.replace(/\.js$/, '.ts');
  return { workflowsPath, preloadModules: [workflowsPath] };
}

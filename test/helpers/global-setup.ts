import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../src/tools/dev-server.js';
import { bundleFiles, bundleSource, type BundleName } from '../../src/worker/bundles.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    lockBundlePath: string;
  }
}

/**
 * One real Temporal dev server for the whole run (headless, free port, search attributes registered), and
 * the workflow code bundled once (the rollout's, and the lock worker's): every server-backed test file
 * shares them.
 */
export default async function setup(project: TestProject) {
  const server = await startDevServer({ ui: false, log: (l) => console.error(l) });
  const dir = await mkdtemp(join(tmpdir(), 'phased-rollout-test-'));
  const bundle = async (which: BundleName) => {
    const { code } = await bundleWorkflowCode({ ...bundleSource(which), logger: new DefaultLogger('WARN') });
    await writeFile(join(dir, bundleFiles[which]), code);
    return join(dir, bundleFiles[which]);
  };
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', await bundle('rollout'));
  project.provide('lockBundlePath', await bundle('locks'));
  return async () => {
    await server.stop();
  };
}

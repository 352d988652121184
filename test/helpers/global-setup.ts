import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../src/tools/dev-server.js';
import { bundleFile, bundleSource } from '../../src/worker/bundles.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/**
 * One real Temporal dev server for the whole run (headless, free port, search attributes registered), and
 * the workflow code bundled once: every server-backed test file shares them.
 */
export default async function setup(project: TestProject) {
  const server = await startDevServer({ ui: false, log: (l) => console.error(l) });
  const dir = await mkdtemp(join(tmpdir(), 'phased-rollout-test-'));
  const { code } = await bundleWorkflowCode({ ...bundleSource(), logger: new DefaultLogger('WARN') });
  await writeFile(join(dir, bundleFile), code);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', join(dir, bundleFile));
  return async () => {
    await server.stop();
  };
}

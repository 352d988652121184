/** Prebuilds the workflow bundles for production workers (`npm run build`), so they start without bundling. */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundleFiles, bundleSource } from './bundles.js';

for (const which of ['rollout', 'locks'] as const) {
  const { code } = await bundleWorkflowCode(bundleSource(which));
  await writeFile(new URL(`../${bundleFiles[which]}`, import.meta.url), code);
  console.error(`workflow bundle written to dist/${bundleFiles[which]}`);
}

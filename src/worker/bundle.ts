/** Prebuilds the workflow bundle for production workers (`npm run build`), so they start without bundling. */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const { code } = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
});
await writeFile(new URL('../workflow-bundle.js', import.meta.url), code);
console.error('workflow bundle written to dist/workflow-bundle.js');

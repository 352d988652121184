/** Prebuilds the workflow bundle for production workers (`npm run build`), so they start without bundling. */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundleFile, bundleSource } from './bundles.js';

const { code } = await bundleWorkflowCode(bundleSource());
await writeFile(new URL(`../${bundleFile}`, import.meta.url), code);
console.error(`workflow bundle written to dist/${bundleFile}`);

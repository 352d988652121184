/** `npm run image [-- OUT_DIR]`: builds the worker's image as an OCI archive (src/tools/image.ts). */
import { join } from 'node:path';
import { buildImage } from '../src/tools/image.js';

const root = new URL('../', import.meta.url).pathname;
const out = process.argv[2] ?? join(root, '.tmp/image');
try {
  const { archive, reference } = await buildImage(root, out);
  console.log(`${archive} ${reference}`);
} catch (err) {
  console.error(`image: ${(err as Error).message}`);
  process.exit(1);
}

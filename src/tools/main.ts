/**
 * `npm run tools [-- group...|--all]`: provides the project's real servers and CLIs, building any that PATH
 * and the cache lack. Idempotent: a second run only checks. By default every group but the optional ones
 * (Argo CD: only its lab mode and its tests need it, and its first build takes minutes); `--all` adds them,
 * as the tests do.
 */
import { ensureDebianTool } from './debian.js';
import { postgresBin } from './production-server.js';
import { ensureTool, toolGroups, type ToolName } from './toolchain.js';

const groups = toolGroups();
const optional = ['argocd'];
const all = process.argv.includes('--all');
const wanted = process.argv.slice(2).filter((a) => a !== '--all');
const unknown = wanted.filter((g) => !(g in groups));
if (unknown.length > 0) {
  console.error(`unknown tool group(s): ${unknown.join(', ')}; known: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
try {
  const defaults = Object.keys(groups).filter((g) => all || !optional.includes(g));
  for (const group of wanted.length > 0 ? wanted : defaults) {
    for (const tool of groups[group] as readonly ToolName[]) {
      console.error(`[tools] ${tool}: ${await ensureTool(tool)}`);
    }
  }
  // Debian's packages: git serves and fetches config repositories, ssh-keygen signs and verifies
  // approvals, chromium runs the Web UI tests, htpasswd and openssl set up the private registries of tests,
  // buildah, umoci, skopeo and debootstrap build and unpack the worker's image.
  if (wanted.length === 0) {
    const debian = [
      'git',
      'ssh-keygen',
      'chromium',
      'htpasswd',
      'openssl',
      ...(all ? (['redis-server'] as const) : []),
    ] as const;
    const image = ['buildah', 'umoci', 'skopeo', 'debootstrap'] as const;
    for (const tool of [...debian, ...image]) console.error(`[tools] ${tool}: ${await ensureDebianTool(tool)}`);
    // PostgreSQL for the production Temporal (src/tools/production-server.ts); its binaries are not on PATH.
    console.error(`[tools] postgresql: ${await postgresBin(console.error)}`);
  }
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How to run the CLI: the compiled `dist/cli/main.js` when `npm run build` made it after the last change
 * to `src/` (as CI does, right before the tests), else the sources through tsx. The same code either way;
 * the compiled one starts in a fraction of tsx's 2 s, and the CLI and e2e tests run it hundreds of times.
 */
const entry: string[] = (() => {
  const built = join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(built)) return ['--import', 'tsx', 'src/cli/main.ts'];
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  return newest(join(root, 'src')) < builtAt ? [built] : ['--import', 'tsx', 'src/cli/main.ts'];
})();

/** Runs the `rollout` CLI as a user would, from the repository root, with extra environment. */
export function rolloutCli(args: string[], env: Record<string, string> = {}, timeout = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...entry, ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

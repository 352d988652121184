/**
 * Which Helm the worker runs: `ROLLOUT_HELM` (a path) when set, else `helm` on PATH. Either must be Helm 3
 * at or above `minimumHelm`, checked once when the worker starts, so a wrong Helm is a clear error then,
 * not a puzzling failure in the middle of a rollout.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { envValue } from './env.js';

const exec = promisify(execFile);

/** The oldest Helm the worker runs with: every flag it passes (`template --kube-version`, OCI charts) is there. */
export const minimumHelm = '3.14.0';

/** The Helm binary the worker must use, with its version; throws a message saying what to install or set. */
export async function findHelm(env: NodeJS.ProcessEnv = process.env): Promise<{ path: string; version: string }> {
  const configured = envValue('ROLLOUT_HELM', env);
  const path = configured ?? onPath('helm', env['PATH'] ?? '');
  if (!path) {
    throw new Error(`no helm on PATH: install Helm ${minimumHelm} or later, or set ROLLOUT_HELM to its path`);
  }
  const where = configured ? `ROLLOUT_HELM (${configured})` : `helm on PATH (${path})`;
  let out: string;
  try {
    out = (await exec(path, ['version', '--short'], { timeout: 15_000 })).stdout;
  } catch (err) {
    throw new Error(`${where} does not run: ${(err as Error).message}`);
  }
  const problem = helmVersionProblem(out);
  if (problem) throw new Error(`${where}: ${problem}`);
  return { path, version: out.trim() };
}

/** Why `helm version --short` output is not a Helm the worker runs with, or undefined when it is. */
export function helmVersionProblem(versionOutput: string): string | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(versionOutput.trim());
  if (!m) return `cannot read a version from "${versionOutput.trim()}"`;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [wantMinor, wantPatch] = minimumHelm.split('.').slice(1).map(Number) as [number, number];
  if (major !== 3) return `is Helm ${m[0]}; the worker runs Helm 3 (${minimumHelm} or later)`;
  if (minor < wantMinor || (minor === wantMinor && patch < wantPatch)) {
    return `is Helm ${m[0]}, older than ${minimumHelm}`;
  }
  return undefined;
}

function onPath(tool: string, path: string): string | undefined {
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, tool))
    .find((candidate) => existsSync(candidate));
}

import { readFileSync, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { formatIssue, PlanError, type PlanIssue } from '../plan/errors.js';
import { parsePlan } from '../plan/load.js';
import { fileReferences } from '../plan/resolve.js';
import type { RolloutPlan } from '../plan/schema.js';
import { temporalConfig, type TemporalConfig } from '../common/temporal-config.js';

/** Exit codes: 0 done, 1 operation failed or rejected, 2 usage or validation error. */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI reports as one message and an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failed,
  ) {
    super(message);
  }
}

export interface LoadedPlan {
  plan: RolloutPlan;
  file: string;
  baseDir: string;
}

/**
 * Reads, parses and validates a plan file, and checks that every file it refers to exists. Any problem
 * becomes a CliError with exit code 2 listing all issues, before anything talks to Temporal.
 */
export function loadPlanFile(file: string): LoadedPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: cannot read plan: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      2,
    );
  }
  try {
    const plan = parsePlan(text, file);
    const baseDir = dirname(resolve(file));
    const missing: PlanIssue[] = fileReferences(plan)
      .filter((r) => !existsSync(resolve(baseDir, r.file)))
      .map((r) => ({ path: r.path, message: `file not found: ${r.file} (relative to the plan's folder)` }));
    if (missing.length > 0) throw new PlanError(file, missing);
    return { plan, file, baseDir };
  } catch (err) {
    if (err instanceof PlanError) {
      throw new CliError(
        [`${file}: invalid rollout plan (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}):`]
          .concat(err.issues.map((i) => `  ${formatIssue(file, i)}`))
          .join('\n'),
        2,
      );
    }
    throw err;
  }
}

/** Who is acting: --as, else ROLLOUT_USER, else the OS user. */
export function actor(as: string | undefined): string {
  return as ?? process.env['ROLLOUT_USER'] ?? userInfo().username;
}

export async function withClient<T>(fn: (client: Client, config: TemporalConfig) => Promise<T>): Promise<T> {
  let config: TemporalConfig;
  try {
    config = temporalConfig();
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: config.address,
      tls: config.tls,
      apiKey: config.apiKey,
      connectTimeout: '5s',
    });
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${config.address}: ${(err as Error).message}`);
  }
  try {
    return await fn(new Client({ connection, namespace: config.namespace }), config);
  } finally {
    await connection.close();
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

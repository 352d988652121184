import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { formatIssue, PlanError } from '../plan/errors.js';
import { parsePlan } from '../plan/load.js';
import { planFileIssues } from './plan-files.js';
import { pinSource } from './source.js';
import type { PinnedSource } from '../domain/types.js';
import type { RolloutPlan } from '../plan/schema.js';
import { diagnoseConnection } from '../common/tls-diagnosis.js';
import { temporalConfig, type TemporalConfig } from '../common/temporal-config.js';
import { envValue } from '../common/env.js';
import { CliError } from './errors.js';
import { dataConverter } from '../common/payload-codec.js';

export { CliError, exitCodes } from './errors.js';

export interface LoadedPlan {
  plan: RolloutPlan;
  file: string;
  baseDir: string;
  /** The plan's files pinned: the commit of its git source, or the digests of its local files. */
  source: PinnedSource;
}

/**
 * Reads, parses and validates a plan file, pins its source (see `pinSource`) and checks the files it
 * refers to there (see `planFileIssues`). Any problem becomes a CliError with exit code 2 listing all
 * issues, before anything talks to Temporal.
 */
export async function loadPlanFile(file: string): Promise<LoadedPlan> {
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
    const { source, filesDir, repo } = await pinSource(plan, baseDir);
    const problems = planFileIssues(plan, filesDir, repo);
    if (problems.length > 0) throw new PlanError(file, problems);
    return { plan, file, baseDir, source };
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

/** Who is acting: --as, else ROLLOUT_USER, else the OS user. An empty name is a usage error, not a name. */
export function actor(as: string | undefined): string {
  const who = as ?? envValue('ROLLOUT_USER') ?? userInfo().username;
  if (!who.trim()) throw new CliError('--as needs a name (or ROLLOUT_USER, if set, is empty): say who is acting', 2);
  return who;
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
    const why = await diagnoseConnection(config).catch(() => undefined);
    throw new CliError(`cannot reach Temporal at ${config.address}: ${why ?? (err as Error).message}`);
  }
  try {
    return await fn(new Client({ connection, namespace: config.namespace, dataConverter }), config);
  } finally {
    await connection.close();
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

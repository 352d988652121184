import { userInfo } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { diagnoseConnection } from '../common/tls-diagnosis.js';
import { temporalConfig, type TemporalConfig } from '../common/temporal-config.js';
import { envValue } from '../common/env.js';
import { CliError } from './errors.js';
import { dataConverter } from '../common/payload-codec.js';

export { CliError, exitCodes } from './errors.js';

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

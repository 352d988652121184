import { readFileSync } from 'node:fs';
import { envValue } from './env.js';

/**
 * How to reach Temporal, from the same environment variables Temporal's own CLI reads:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY / TEMPORAL_TLS_CA (file paths),
 * TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY. Secrets stay in the process; they never enter a workflow.
 */
export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

export const defaultTaskQueue = 'phased-rollout';

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const cert = envValue('TEMPORAL_TLS_CERT', env);
  const key = envValue('TEMPORAL_TLS_KEY', env);
  const ca = envValue('TEMPORAL_TLS_CA', env);
  const apiKey = envValue('TEMPORAL_API_KEY', env);
  if ((cert && !key) || (key && !cert)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither');
  }
  const useTls = Boolean(cert || ca || apiKey || envValue('TEMPORAL_TLS', env) === 'true');
  return {
    address: envValue('TEMPORAL_ADDRESS', env) ?? '127.0.0.1:7233',
    namespace: envValue('TEMPORAL_NAMESPACE', env) ?? 'default',
    taskQueue: envValue('ROLLOUT_TASK_QUEUE', env) ?? defaultTaskQueue,
    apiKey,
    tls: useTls
      ? {
          serverNameOverride: envValue('TEMPORAL_TLS_SERVER_NAME', env),
          serverRootCACertificate: ca ? readFileSync(ca) : undefined,
          clientCertPair: cert && key ? { crt: readFileSync(cert), key: readFileSync(key) } : undefined,
        }
      : undefined,
  };
}

/** The Web UI address for a workflow, when TEMPORAL_UI_URL is set or the server is the local dev server. */
export function workflowUiLink(config: TemporalConfig, workflowId: string, env = process.env): string | undefined {
  const base =
    envValue('TEMPORAL_UI_URL', env) ??
    (/^(localhost|127\.0\.0\.1):7233$/.test(config.address) ? 'http://localhost:8233' : undefined);
  if (!base) return undefined;
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

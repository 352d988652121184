import { readFileSync } from 'node:fs';

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
  const cert = env['TEMPORAL_TLS_CERT'];
  const key = env['TEMPORAL_TLS_KEY'];
  const ca = env['TEMPORAL_TLS_CA'];
  const apiKey = env['TEMPORAL_API_KEY'] || undefined;
  if ((cert && !key) || (key && !cert)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither');
  }
  const useTls = Boolean(cert || ca || apiKey || env['TEMPORAL_TLS'] === 'true');
  return {
    address: env['TEMPORAL_ADDRESS'] || '127.0.0.1:7233',
    namespace: env['TEMPORAL_NAMESPACE'] || 'default',
    taskQueue: env['ROLLOUT_TASK_QUEUE'] || defaultTaskQueue,
    apiKey,
    tls: useTls
      ? {
          serverNameOverride: env['TEMPORAL_TLS_SERVER_NAME'] || undefined,
          serverRootCACertificate: ca ? readFileSync(ca) : undefined,
          clientCertPair: cert && key ? { crt: readFileSync(cert), key: readFileSync(key) } : undefined,
        }
      : undefined,
  };
}

/** The Web UI address for a workflow, when TEMPORAL_UI_URL is set or the server is the local dev server. */
export function workflowUiLink(config: TemporalConfig, workflowId: string, env = process.env): string | undefined {
  const base =
    env['TEMPORAL_UI_URL'] ??
    (/^(localhost|127\.0\.0\.1):7233$/.test(config.address) ? 'http://localhost:8233' : undefined);
  if (!base) return undefined;
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Every environment variable phased-rollout reads, in one list: what it is for, who reads it (the `rollout`
 * CLI, the worker, or both) and its default. Code reads them through `envValue`, which takes only these
 * names, and the README's table is checked against this list (test/unit/env.test.ts), so a new variable
 * cannot go undocumented. A sink's URL variable (`urlFrom.env`, always
 * ROLLOUT_SINK_<something>) is named by the plan and read on the worker; a token variable by the worker's
 * ROLLOUT_CREDENTIALS file.
 */
import type { LogLevel } from '@temporalio/worker';

export interface EnvVar {
  readBy: 'cli' | 'worker' | 'cli, worker';
  meaning: string;
  default?: string;
}

export const environment = {
  TEMPORAL_ADDRESS: { readBy: 'cli, worker', meaning: "Temporal's gRPC address", default: '127.0.0.1:7233' },
  TEMPORAL_NAMESPACE: { readBy: 'cli, worker', meaning: 'Temporal namespace', default: 'default' },
  TEMPORAL_TLS_CERT: { readBy: 'cli, worker', meaning: 'client certificate file for mTLS (with TEMPORAL_TLS_KEY)' },
  TEMPORAL_TLS_KEY: { readBy: 'cli, worker', meaning: 'client key file for mTLS (with TEMPORAL_TLS_CERT)' },
  TEMPORAL_TLS_CA: { readBy: 'cli, worker', meaning: "CA file that signed the server's certificate" },
  TEMPORAL_TLS_SERVER_NAME: { readBy: 'cli, worker', meaning: 'server name to verify, when not the address' },
  TEMPORAL_TLS: { readBy: 'cli, worker', meaning: '`true`: TLS with the system CAs and no client certificate' },
  TEMPORAL_API_KEY: { readBy: 'cli, worker', meaning: 'API key (Temporal Cloud); implies TLS' },
  TEMPORAL_UI_URL: {
    readBy: 'cli',
    meaning: 'Web UI address for links',
    default: 'http://localhost:8233 with the local dev server',
  },
  ROLLOUT_TASK_QUEUE: {
    readBy: 'cli, worker',
    meaning: 'task queue of workers and rollouts',
    default: 'phased-rollout',
  },
  KUBECONFIG: { readBy: 'worker', meaning: 'kubeconfig whose contexts the plans name', default: '~/.kube/config' },
  ROLLOUT_HELM: { readBy: 'worker', meaning: 'Helm binary (3.14 or later)', default: 'helm on PATH' },
  ROLLOUT_GIT: { readBy: 'cli, worker', meaning: 'git binary for config repositories', default: 'git on PATH' },
  ROLLOUT_SSH_KEYGEN: {
    readBy: 'cli, worker',
    meaning: 'ssh-keygen that signs (CLI) and verifies (worker) approvals',
    default: 'ssh-keygen on PATH',
  },
  ROLLOUT_CREDENTIALS: {
    readBy: 'cli, worker',
    meaning: 'YAML file: credentials and the URLs each may go to; chart repository settings; the sink URL folder',
  },
  ROLLOUT_SOURCE_CACHE: {
    readBy: 'cli, worker',
    meaning: 'where config repository checkouts are kept, by commit',
    default: '$PHASED_ROLLOUT_CACHE/sources',
  },
  PHASED_ROLLOUT_CACHE: {
    readBy: 'cli, worker',
    meaning: 'per-user cache (checkouts; the tools `npm run tools` builds)',
    default: '$XDG_CACHE_HOME/phased-rollout or ~/.cache/phased-rollout',
  },
  XDG_CACHE_HOME: { readBy: 'cli, worker', meaning: 'base of the per-user cache', default: '~/.cache' },
  ROLLOUT_LOG_LEVEL: { readBy: 'worker', meaning: 'TRACE, DEBUG, INFO, WARN or ERROR', default: 'INFO' },
  ROLLOUT_LOG_FORMAT: {
    readBy: 'worker',
    meaning: 'json (one object a line) or text',
    default: 'json when stderr is not a terminal',
  },
  ROLLOUT_WORKFLOW_CACHE: {
    readBy: 'worker',
    meaning: "most workflows each of the worker's two SDK workers keeps in memory (docs/benchmarks.md)",
    default: "the SDK's, by heap size",
  },
  ROLLOUT_HEALTH_ADDRESS: {
    readBy: 'worker',
    meaning: 'HOST:PORT for the liveness (/livez) and readiness (/readyz) probes',
    default: 'none: no probe server',
  },
  ROLLOUT_METRICS_ADDRESS: {
    readBy: 'worker',
    meaning: "HOST:PORT for Prometheus metrics (/metrics): the SDK's and the tool's",
    default: 'none: no metrics endpoint',
  },
  ROLLOUT_DEPLOYMENT_NAME: {
    readBy: 'worker',
    meaning: 'with ROLLOUT_BUILD_ID: Worker Versioning, the worker deployment this worker belongs to',
    default: 'none: unversioned',
  },
  ROLLOUT_BUILD_ID: {
    readBy: 'worker',
    meaning: "with ROLLOUT_DEPLOYMENT_NAME: this worker's build; a rollout stays on the build it started on",
    default: 'none: unversioned',
  },
  ROLLOUT_USER: { readBy: 'cli', meaning: 'who acts, when --as is not given', default: 'the OS user' },
  ROLLOUT_SIGNING_KEY: { readBy: 'cli', meaning: 'SSH private key that signs, when --sign-with is not given' },
  NO_COLOR: { readBy: 'cli', meaning: 'set: no colour in tables' },
} as const satisfies Record<string, EnvVar>;

export type EnvName = keyof typeof environment;

/** A variable's value, or undefined when unset or empty. */
export function envValue(name: EnvName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[name] || undefined;
}

const logLevels: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** ROLLOUT_LOG_LEVEL, INFO by default; any other value is an error naming the variable. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = envValue('ROLLOUT_LOG_LEVEL', env) ?? 'INFO';
  if (!logLevels.includes(value as LogLevel)) {
    throw new Error(`ROLLOUT_LOG_LEVEL is "${value}": set it to one of ${logLevels.join(', ')}`);
  }
  return value as LogLevel;
}

/** ROLLOUT_WORKFLOW_CACHE as a count, or undefined; anything but a whole number is an error naming the variable. */
export function workflowCacheSize(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = envValue('ROLLOUT_WORKFLOW_CACHE', env);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`ROLLOUT_WORKFLOW_CACHE is "${value}": set it to a whole number`);
  return Number(value);
}

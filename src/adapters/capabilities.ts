import { createHash } from 'node:crypto';
import type { ClusterCapabilities, KubeFactory } from './kube.js';
import { classify } from './kube-errors.js';
import { Unreachable, withTimeout } from './errors.js';

/** How long one cluster may take to say its version and APIs before it counts as not answering. */
const askTimeoutMs = 15_000;

/**
 * A cluster's version and API versions as Helm reads them on an upgrade (`.Capabilities`), so a render
 * (preflight, the gate's diff, `rollout diff`) sees what the upgrade of that cluster will see. A context
 * the worker does not have is final; a cluster that does not answer within 15 s is `Unreachable`.
 */
export async function capabilitiesOf(kube: KubeFactory, context: string): Promise<ClusterCapabilities> {
  const what = `ask ${context} for its version and APIs`;
  return withTimeout(
    kube(context).objects.capabilities(),
    askTimeoutMs,
    () => new Unreachable(`${what}: no answer in ${askTimeoutMs / 1000} s`),
  ).catch((err: unknown) => {
    throw classify(err, what);
  });
}

/** Equal for clusters whose renders cannot differ by `.Capabilities`; one render serves all of them. */
export function capabilitiesKey(caps: ClusterCapabilities | undefined): string {
  if (!caps) return 'helm-defaults';
  return `${caps.kubeVersion}|${createHash('sha256').update(caps.apiVersions.join('\n')).digest('hex')}`;
}

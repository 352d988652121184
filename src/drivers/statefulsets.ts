/**
 * Kubernetes' "forced rollback", for every deploy mechanism: a StatefulSet whose pod never became Ready on
 * the bad revision does not replace that pod once its template is restored. After a rollback, its pods
 * on another revision that are not Ready are deleted, so the controller recreates them from the restored
 * template.
 */
import { Context } from '@temporalio/activity';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { classify, isNotFound } from '../adapters/kube-errors.js';
import { waitForObjects } from '../adapters/kube-wait.js';
import { isPodReady, podsOf, type Kube } from '../adapters/kube.js';

export async function unstick(kube: Kube, sets: readonly { namespace: string; name: string }[]): Promise<void> {
  const context = kube.context;
  for (const { namespace: ns, name: stsName } of sets) {
    const sts = await waitForObjects<V1StatefulSet, V1StatefulSet>({
      kube,
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      namespace: ns,
      fieldSelector: `metadata.name=${stsName}`,
      check: ([s]) => (s && (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0) ? s : undefined),
      deadline: Date.now() + 60_000,
      signal: Context.current().cancellationSignal,
      describe: () => `StatefulSet ${ns}/${stsName} on ${context} to observe the rollback`,
    });
    const { pods } = await podsOf(kube, sts, ns, `StatefulSet ${ns}/${stsName} on ${context}`);
    for (const pod of pods) {
      const stale = pod.metadata?.labels?.['controller-revision-hash'] !== sts.status?.updateRevision;
      if (stale && !isPodReady(pod)) {
        Context.current().log.info('deleting stuck StatefulSet pod for the rollback', { pod: pod.metadata?.name });
        await kube.core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: ns }).catch((e: unknown) => {
          if (!isNotFound(e)) throw classify(e, `delete pod ${ns}/${pod.metadata?.name} on ${context}`);
        });
      }
    }
  }
}

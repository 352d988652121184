import type {
  CoreV1Event,
  KubernetesObject,
  V1DaemonSet,
  V1Deployment,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../plan/duration.js';
import type { CacheReadyInput, CacheReadyResult, VerifyInput, VerifyResult } from './contracts.js';
import { FailureType } from '../domain/failure-types.js';
import { parseAllDocuments } from 'yaml';
import { driverFor, type Drivers } from '../drivers/driver.js';
import { cacheCheckFor } from '../cache-checks/index.js';
import { waitForHttp } from '../cache-checks/http.js';
import { classify } from '../adapters/kube-errors.js';
import { waitForObjects } from '../adapters/kube-wait.js';
import { isPodReady, podsOf, type Kube, type KubeFactory } from '../adapters/kube.js';
import { clusterStep, stepDeadline } from './context.js';

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

/** Why a workload is not yet rolled out at its current generation, or undefined when it is. */
export function notRolledOut(kind: string, w: Workload | undefined): string | undefined {
  if (!w) return 'not found';
  const gen = w.metadata?.generation ?? 0;
  const observed = w.status?.observedGeneration ?? 0;
  if (observed < gen) return `generation ${gen} not yet observed (at ${observed})`;
  if (kind === 'DaemonSet') {
    const s = (w as V1DaemonSet).status;
    const want = s?.desiredNumberScheduled ?? 0;
    if ((s?.updatedNumberScheduled ?? 0) < want) return `${s?.updatedNumberScheduled ?? 0}/${want} updated`;
    if ((s?.numberReady ?? 0) < want) return `${s?.numberReady ?? 0}/${want} ready`;
    return undefined;
  }
  // tsc needs this narrowing (DaemonSets have no replicas); the lint rule's type view disagrees.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  const { spec, status: s } = w as V1Deployment | V1StatefulSet;
  const want = spec?.replicas ?? 1;
  if ((s?.updatedReplicas ?? 0) < want) return `${s?.updatedReplicas ?? 0}/${want} updated`;
  if (kind === 'Deployment' && (s?.replicas ?? 0) > want) {
    return `${s?.updatedReplicas ?? 0}/${want} pods updated but not all Ready; old pods still running`;
  }
  if ((s?.readyReplicas ?? 0) < want) return `${s?.readyReplicas ?? 0}/${want} ready`;
  if (kind === 'StatefulSet') {
    const ss = (w as V1StatefulSet).status;
    if (ss?.currentRevision !== ss?.updateRevision) return `revision ${ss?.updateRevision} not yet current`;
  }
  return undefined;
}

const apiVersionOf: Record<string, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1' };

/** Cache readiness and workload verification. */
export function createCheckActivities(deps: { kube: KubeFactory; drivers: Drivers }) {
  async function releaseWorkloads(input: VerifyInput) {
    const { cluster, context, release } = input;
    if (input.verify.workloads !== 'release') {
      return input.verify.workloads.map((w) => ({
        kind: w.kind,
        name: w.name,
        namespace: w.namespace ?? input.release.namespace,
      }));
    }
    const text = await driverFor(deps.drivers, release).declared({ cluster, context, release });
    if (text === undefined) {
      throw ApplicationFailure.nonRetryable(
        `${release.namespace}/${release.releaseName} is not installed on ${context}: no workloads to verify`,
        FailureType.ReleaseMissing,
      );
    }
    const declared = parseAllDocuments(text)
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => !!o);
    return declared
      .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind ?? ''))
      .map((o) => ({
        kind: o.kind as string,
        name: o.metadata?.name as string,
        namespace: o.metadata?.namespace ?? input.release.namespace,
      }));
  }

  /** Waits until the workload is rolled out, then returns its pods' restart counts. */
  async function rolledOut(kube: Kube, w: { kind: string; name: string; namespace: string }, deadline: number) {
    const ctx = Context.current();
    const where = `${w.kind} ${w.namespace}/${w.name} on ${kube.context}`;
    let last: Workload | undefined;
    const workload = await waitForObjects<Workload, Workload>({
      kube,
      apiVersion: apiVersionOf[w.kind] ?? 'apps/v1',
      kind: w.kind,
      namespace: w.namespace,
      fieldSelector: `metadata.name=${w.name}`,
      check: (items) => {
        last = items[0];
        return items[0] && !notRolledOut(w.kind, items[0]) ? items[0] : undefined;
      },
      deadline,
      signal: ctx.cancellationSignal,
      describe: (items) => `${where} to roll out: ${notRolledOut(w.kind, items[0])}`,
    }).catch(async (err: unknown) => {
      // Why it did not roll out, so the on-call needs no kubectl session: its newest pod's failing
      // condition, container state or warning event.
      if (!(err instanceof ApplicationFailure) || err.type !== FailureType.Timeout || !last) throw err;
      const why = await whyNotReady(kube, last, w.namespace, where).catch(() => undefined);
      throw why ? ApplicationFailure.nonRetryable(`${err.message}; ${why}`, FailureType.Timeout) : err;
    });
    const { selector, pods } = await podsOf(kube, workload, w.namespace, where);
    const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
    const unready = live.filter((p) => !isPodReady(p));
    if (unready.length > 0) {
      throw new Error(`${where}: pods not Ready: ${unready.map((p) => p.metadata?.name).join(', ')}`);
    }
    return { where, selector, namespace: w.namespace, restarts: restartsOf(live) };
  }

  return {
    waitForCacheReady: (input: CacheReadyInput): Promise<CacheReadyResult> => {
      const deadline = stepDeadline(input.cache.timeout);
      return clusterStep(input, deadline, () => cacheReady(input, deadline));
    },

    verifyWorkloads: (input: VerifyInput): Promise<VerifyResult> => {
      const deadline = stepDeadline(input.verify.timeout);
      return clusterStep(input, deadline, () => verify(input, deadline)).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.type === FailureType.Timeout) {
          throw ApplicationFailure.nonRetryable(err.message, FailureType.VerifyFailed);
        }
        throw err;
      });
    },
  };

  async function cacheReady(input: CacheReadyInput, deadline: number): Promise<CacheReadyResult> {
    const { check } = input.cache;
    const scope = {
      kube: deps.kube(input.context),
      cluster: input.cluster,
      signal: Context.current().cancellationSignal,
    };
    return { observed: await cacheCheckFor(check).waitReady(check, scope, deadline) };
  }

  async function verify(input: VerifyInput, deadline: number): Promise<VerifyResult> {
    const kube = deps.kube(input.context);
    const ctx = Context.current();
    const workloads = await releaseWorkloads(input);
    const states = await Promise.all(workloads.map((w) => rolledOut(kube, w, deadline)));
    // No restarts during the window: pods that restarted while being verified are not healthy.
    const windowMs = Math.min(durationMs(input.verify.window), Math.max(0, deadline - Date.now()));
    // Context.sleep ends at once when the step is cancelled (an abort): a timer would hold it to the end.
    if (windowMs > 0) await ctx.sleep(windowMs);
    for (const s of states) {
      const pods = await kube.core
        .listNamespacedPod({ namespace: s.namespace, labelSelector: s.selector })
        .catch((err: unknown) => {
          throw classify(err, `list pods of ${s.where}`);
        });
      const now = restartsOf(pods.items);
      const restarted = [...now].filter(([pod, n]) => n > (s.restarts.get(pod) ?? 0)).map(([pod]) => pod);
      if (restarted.length > 0)
        throw ApplicationFailure.nonRetryable(
          `${s.where}: pods restarted while verifying: ${restarted.join(', ')}`,
          FailureType.VerifyFailed,
        );
    }
    const checked = states.map((s) => `${s.where}: rolled out, ${s.restarts.size} pods Ready`);
    for (const h of input.verify.http) checked.push(await waitForHttp(h, deadline, ctx.cancellationSignal));
    return { checked };
  }
}

/**
 * What holds a workload's newest pod back, in one line: a condition that is not True with its reason
 * and message (Unschedulable: 0/2 nodes are available...), a container waiting or terminated with a
 * reason (ImagePullBackOff, CrashLoopBackOff), and the pod's newest Warning event. Undefined when the
 * workload has no pods to blame.
 */
export async function whyNotReady(
  kube: Kube,
  workload: Workload,
  namespace: string,
  where: string,
): Promise<string | undefined> {
  const { pods } = await podsOf(kube, workload, namespace, where);
  const newest = pods.filter((p) => !p.metadata?.deletionTimestamp).sort((a, b) => created(b) - created(a))[0];
  if (!newest) return pods.length === 0 ? 'it has no pods' : undefined;
  const name = newest.metadata?.name ?? '';
  const reasons: string[] = [];
  for (const c of newest.status?.conditions ?? []) {
    if (c.status === 'True' || !(c.reason || c.message)) continue;
    reasons.push(`${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`);
  }
  for (const cs of [...(newest.status?.initContainerStatuses ?? []), ...(newest.status?.containerStatuses ?? [])]) {
    const state = cs.state?.waiting ?? cs.state?.terminated;
    if (state?.reason && state.reason !== 'Completed') {
      reasons.push(`container ${cs.name} ${state.reason}${state.message ? `: ${state.message}` : ''}`);
    }
  }
  const events = await kube.core
    .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` })
    .then((l) => l.items.filter((e) => e.type === 'Warning'))
    .catch(() => []);
  const event = events.sort((a, b) => eventTime(b) - eventTime(a))[0];
  if (event) reasons.push(`event ${event.reason ?? ''}: ${event.message ?? ''}`.trim());
  if (reasons.length === 0) {
    const phase = newest.status?.phase ?? 'unknown';
    return `newest pod ${name} is ${phase}, not Ready, and says nothing more`;
  }
  return `newest pod ${name}: ${reasons.join('; ')}`;
}

function created(p: V1Pod): number {
  return p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0;
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function restartsOf(pods: V1Pod[]): Map<string, number> {
  return new Map(
    pods.map((p) => [
      p.metadata?.name ?? '',
      (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    ]),
  );
}

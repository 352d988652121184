import type { KubernetesObject } from '@kubernetes/client-node';
import { classify } from '../adapters/kube-errors.js';
import { waitForObjects } from '../adapters/kube-wait.js';
import { Unreachable } from '../adapters/errors.js';
import type { CacheCheck, CacheCheckSpec } from './check.js';

type ObjectFieldSpec = Extract<CacheCheckSpec, { type: 'object-field' }>;

/** Reads a dotted path (data.readyVersion, status.conditions.0.type) from an object. */
export function fieldAt(obj: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), obj);
}

const where = (s: ObjectFieldSpec, cluster: string) =>
  `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name} ${s.field} on ${cluster}`;
const seenText = (obj: unknown, field: string) =>
  obj === undefined ? 'missing' : JSON.stringify(fieldAt(obj, field) ?? null);

/** A field of a Kubernetes object equals the expected value (a ConfigMap's data.readyVersion, a CR's status). */
export const objectField: CacheCheck<ObjectFieldSpec> = {
  async observe(spec, { kube, cluster }) {
    const obj = await kube.objects
      .read({ apiVersion: spec.apiVersion, kind: spec.kind, metadata: { name: spec.name, namespace: spec.namespace } })
      .catch((err: unknown) => {
        const e = classify(err, `read ${where(spec, cluster)}`);
        if (e instanceof Unreachable) throw e;
        return undefined; // not there (yet): the cache is not ready
      });
    const ready = obj !== undefined && String(fieldAt(obj, spec.field)) === spec.equals;
    return {
      ready,
      observed: `${where(spec, cluster)} is ${seenText(obj, spec.field)}${ready ? '' : `, wanted "${spec.equals}"`}`,
    };
  },

  async waitReady(spec, { kube, cluster, signal }, deadline) {
    const seen = await waitForObjects<KubernetesObject, string>({
      kube,
      apiVersion: spec.apiVersion,
      kind: spec.kind,
      namespace: spec.namespace,
      fieldSelector: `metadata.name=${spec.name}`,
      check: (items) => (String(fieldAt(items[0], spec.field)) === spec.equals ? spec.equals : undefined),
      deadline,
      signal,
      describe: (items) =>
        `the cache: ${where(spec, cluster)} to be "${spec.equals}" (it is ${seenText(items[0], spec.field)})`,
    });
    return `${where(spec, cluster)}=${seen}`;
  },
};

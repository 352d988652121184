/**
 * What a release would change on a cluster: the objects the chart renders with the cluster's pinned
 * values against the objects its current revision declares (`helm get manifest`), both normalised (one
 * object per key, keys sorted) so that only real changes show. Secrets' values are never shown: each key
 * reads `<redacted>`, or `<redacted, changed>` where the new value differs.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { parseAllDocuments, stringify } from 'yaml';
import type { DiffSummary } from '../domain/types.js';

/** One cluster's diff for one release: its digest and summary, and the text when asked for. */
export interface ManifestDiff {
  /** sha256 of the whole diff text (before any truncation); equal diffs have equal digests. */
  digest: string;
  summary: DiffSummary;
  /** The unified diff, one section per changed object. */
  text: string;
}

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } & Record<
  string,
  unknown
>;

/**
 * Kinds that live outside any namespace, as `apiVersion/Kind`; the cluster's discovery says which (its
 * capabilities), else these built-in ones.
 */
export const builtInClusterScoped: ReadonlySet<string> = new Set([
  'v1/Namespace',
  'v1/Node',
  'v1/PersistentVolume',
  'rbac.authorization.k8s.io/v1/ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'apiextensions.k8s.io/v1/CustomResourceDefinition',
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding',
  'apiregistration.k8s.io/v1/APIService',
  'scheduling.k8s.io/v1/PriorityClass',
  'storage.k8s.io/v1/StorageClass',
  'storage.k8s.io/v1/CSIDriver',
  'networking.k8s.io/v1/IngressClass',
  'node.k8s.io/v1/RuntimeClass',
]);

/**
 * The objects of a manifest by "Kind namespace/name" (the release's namespace where a template sets none),
 * or "Kind name" for a cluster-scoped kind. `null` values are pruned, as the API server drops them.
 */
export function objectsOf(
  manifest: string,
  namespace: string,
  clusterScoped: ReadonlySet<string> = builtInClusterScoped,
): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const doc of parseAllDocuments(manifest)) {
    const obj = pruneNulls(doc.toJS()) as Obj | null;
    if (!obj || typeof obj !== 'object' || !obj.kind) continue;
    const name = obj.metadata?.name ?? '';
    const key = clusterScoped.has(`${obj.apiVersion ?? ''}/${obj.kind}`)
      ? `${obj.kind} ${name}`
      : `${obj.kind} ${obj.metadata?.namespace ?? namespace}/${name}`;
    out.set(key, obj);
  }
  return out;
}

function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, pruneNulls(x)]),
    );
  }
  return v;
}

/** Labels Helm charts change with every version; a change to these alone is bookkeeping. */
const bookkeepingLabels = ['helm.sh/chart', 'app.kubernetes.io/version'];

/** The object with Helm's bookkeeping labels removed wherever labels appear (metadata, pod templates). */
function withoutBookkeeping(v: unknown, key?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => withoutBookkeeping(x));
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !(key === 'labels' && bookkeepingLabels.includes(k)))
        .map(([k, x]) => [k, withoutBookkeeping(x, k)]),
    );
  }
  return v;
}

const redacted = '<redacted>';

/** Secret values replaced: unchanged keys read the same on both sides, changed ones say so on the new side. */
function maskSecrets(current: Obj | undefined, desired: Obj | undefined): [Obj | undefined, Obj | undefined] {
  const isSecret = (o: Obj | undefined) => o?.kind === 'Secret';
  if (!isSecret(current) && !isSecret(desired)) return [current, desired];
  const mask = (o: Obj | undefined, other: Obj | undefined): Obj | undefined => {
    if (!o) return o;
    const copy: Obj = { ...o };
    for (const field of ['data', 'stringData'] as const) {
      const values = o[field] as Record<string, unknown> | undefined;
      if (!values || typeof values !== 'object') continue;
      const theirs = (other?.[field] ?? {}) as Record<string, unknown>;
      copy[field] = Object.fromEntries(
        Object.keys(values).map((k) => [
          k,
          o === desired && k in theirs && theirs[k] !== values[k] ? '<redacted, changed>' : redacted,
        ]),
      );
    }
    return copy;
  };
  return [mask(current, desired), mask(desired, current)];
}

const asYaml = (o: Obj | undefined) => (o ? stringify(o, { sortMapEntries: true, lineWidth: 0 }) : '');

/**
 * The diff of two manifests of one release: added, changed and removed objects, with a digest. An object
 * whose only change is Helm's bookkeeping labels is shown too, and counted as relabelled, not changed.
 */
export function diffManifests(
  current: string,
  desired: string,
  namespace: string,
  clusterScoped: ReadonlySet<string> = builtInClusterScoped,
): ManifestDiff {
  const before = objectsOf(current, namespace, clusterScoped);
  const after = objectsOf(desired, namespace, clusterScoped);
  const summary: DiffSummary = { added: {}, changed: {}, removed: {}, relabelled: {} };
  const sections: string[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const [old, next] = maskSecrets(before.get(key), after.get(key));
    const a = asYaml(old);
    const b = asYaml(next);
    if (a === b) continue;
    const kind = key.split(' ')[0] ?? 'object';
    const relabelled =
      old && next && asYaml(withoutBookkeeping(old) as Obj) === asYaml(withoutBookkeeping(next) as Obj);
    const bucket = !old
      ? summary.added
      : !next
        ? summary.removed
        : relabelled
          ? (summary.relabelled ??= {})
          : summary.changed;
    bucket[kind] = (bucket[kind] ?? 0) + 1;
    sections.push(
      createTwoFilesPatch(old ? key : '/dev/null', next ? key : '/dev/null', a, b, '', '', {
        context: 3,
        headerOptions: FILE_HEADERS_ONLY,
      }),
    );
  }
  if (Object.keys(summary.relabelled ?? {}).length === 0) delete summary.relabelled;
  const text = sections.join('');
  return { digest: `sha256:${createHash('sha256').update(text).digest('hex')}`, summary, text };
}

/** At most `maxBytes` of a diff, with a marker saying how much is left out. */
export function bounded(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return { text, truncated: false };
  const cut = Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/[^\n]*$/, '');
  return {
    text: `${cut}... diff truncated: ${bytes - Buffer.byteLength(cut)} more bytes not shown (limit ${maxBytes})\n`,
    truncated: true,
  };
}

/**
 * The CRDs of an operator chart's `crds/` on one cluster: read the live definitions and the objects stored
 * under them, check a new definition against both (see domain/crds.ts, plus the API server's own dry-run),
 * and apply it with server-side apply under this tool's field manager, waiting until it is Established.
 * Helm installs `crds/` on first install only and never upgrades or deletes them; this does the upgrade,
 * and nothing here ever deletes or downgrades a CRD.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import { crdProblems, isCrd, versionToCheck, type Crd, type StoredObject } from '../domain/crds.js';
import { FailureType } from '../domain/failure-types.js';
import { classify, isNotFound } from './kube-errors.js';
import { waitForObjects } from './kube-wait.js';
import type { Kube } from './kube.js';

/** The field manager of the CRDs this tool applies. */
export const crdFieldManager = 'phased-rollout';

/** At most this many existing objects of one CRD are read to check them against a new schema. */
const objectsChecked = 2_000;

/** The CRDs in `helm show crds` output (other documents, if any, are not CRDs and are left out). */
export function parseCrds(yaml: string): Crd[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is Crd & KubernetesObject => isCrd(o));
}

/** The cluster's definition of the CRD named like `crd`, undefined when there is none. */
export async function liveCrd(kube: Kube, crd: Crd): Promise<Crd | undefined> {
  const name = crd.metadata?.name ?? '';
  try {
    // Raw: the typed model renames a schema's x-kubernetes-* keys.
    return await kube.objects.getPath<Crd>(`${crdPath}/${encodeURIComponent(name)}`);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw classify(err, `read CustomResourceDefinition ${name} on ${kube.context}`);
  }
}

/** The objects of a CRD in every namespace, as read at `version` (at most `objectsChecked`). */
async function storedObjects(kube: Kube, crd: Crd, version: string): Promise<StoredObject[]> {
  const { group, names } = crd.spec ?? {};
  const path = `/apis/${group}/${version}/${names?.plural}?limit=${objectsChecked}`;
  try {
    const list = await kube.objects.getPath<{ items?: StoredObject[] }>(path);
    return list.items ?? [];
  } catch (err) {
    if (isNotFound(err)) return [];
    throw classify(err, `list ${names?.plural}.${group}/${version} on ${kube.context}`);
  }
}

/**
 * Why the chart's CRDs may not be applied on this cluster: for each, what the live definition and its
 * objects say (domain/crds.ts), then the API server's own verdict on a server-side dry-run of the apply.
 * Reads only; empty when every CRD is safe.
 */
export async function crdRefusals(kube: Kube, crds: Crd[]): Promise<string[]> {
  const problems: string[] = [];
  for (const crd of crds) {
    const live = await liveCrd(kube, crd);
    const version = live ? versionToCheck(live, crd) : undefined;
    const objects = live && version ? await storedObjects(kube, live, version) : [];
    const found = crdProblems(live, crd, objects);
    problems.push(...found);
    if (found.length > 0) continue;
    try {
      await apply(kube, crd, true);
    } catch (err) {
      const failure = classify(err, `dry-run of CRD ${crd.metadata?.name}`);
      if (!(failure instanceof ApplicationFailure) || failure.nonRetryable !== true) throw failure;
      problems.push(`CRD ${crd.metadata?.name}: the API server refuses the new definition: ${failure.message}`);
    }
  }
  return problems;
}

/**
 * Applies the chart's CRDs (server-side apply, this tool's field manager, taking over fields Helm set when
 * it installed them), after checking each is safe, and waits until each is Established. Idempotent:
 * applying a definition the cluster already holds changes nothing. A refusal is final and names the CRD.
 */
export async function applyCrds(kube: Kube, crds: Crd[], deadline: number, signal?: AbortSignal): Promise<void> {
  if (crds.length === 0) return;
  const problems = await crdRefusals(kube, crds);
  if (problems.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `${kube.context}: the chart's CRDs may not replace the cluster's, so nothing was applied: ${problems.join('; ')}`,
      FailureType.CrdUnsafe,
    );
  }
  for (const crd of crds) {
    await apply(kube, crd, false).catch((err: unknown) => {
      throw classify(err, `apply CRD ${crd.metadata?.name} on ${kube.context}`);
    });
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitForObjects<Crd & KubernetesObject, true>({
      kube,
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      fieldSelector: `metadata.name=${name}`,
      check: ([c]) => (established(c) ? true : undefined),
      deadline,
      signal,
      describe: () => `CRD ${name} on ${kube.context} to be Established`,
    });
  }
}

function established(c: (Crd & { status?: { conditions?: { type: string; status: string }[] } }) | undefined) {
  return c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ?? false;
}

function apply(kube: Kube, crd: Crd, dryRun: boolean): Promise<unknown> {
  const body = { ...crd, apiVersion: crd.apiVersion ?? 'apiextensions.k8s.io/v1' };
  const path = `${crdPath}/${encodeURIComponent(crd.metadata?.name ?? '')}`;
  return kube.objects.applyRaw(path, body, { fieldManager: crdFieldManager, force: true, dryRun });
}

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

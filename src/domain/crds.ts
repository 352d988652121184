/**
 * CustomResourceDefinitions an operator chart keeps in `crds/`, which Helm installs once and never
 * upgrades: what makes a new definition safe to apply over the one a cluster holds, decided from the two
 * definitions and the objects stored under them. Pure: the activities read, this judges.
 *
 * A new definition is refused when it
 * - drops a version listed in the live definition's `status.storedVersions` (objects may be stored at it;
 *   the API server refuses this too, later and less clearly),
 * - stops serving a version that is stored and has objects (their clients break), or
 * - has a schema an existing object does not satisfy (a new required field the object lacks, a changed
 *   type, a value outside a new enum): the object could no longer be updated, and its controller fails.
 * The schema check covers the structural part of OpenAPI v3 that CRDs use (type, required, properties,
 * items, additionalProperties, enum, nullable, bounds, lengths, patterns, x-kubernetes-preserve-unknown-fields
 * and int-or-string); CEL rules (x-kubernetes-validations) are the API server's and are not evaluated here.
 */

export interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Schema };
}

export interface Crd {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string };
    versions?: CrdVersion[];
  };
  status?: { storedVersions?: string[] };
}

/** The part of OpenAPI v3 structural schemas that this check reads. */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  enum?: unknown[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
}

/** A custom resource as listed from the cluster at one version. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

export function isCrd(o: { apiVersion?: string; kind?: string } | null | undefined): o is Crd {
  return o?.kind === 'CustomResourceDefinition' && (o.apiVersion ?? '').startsWith('apiextensions.k8s.io/');
}

/** "Widget default/w1" or "Widget w1" for a cluster-scoped one. */
export function objectName(o: StoredObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? 'object'} ${ns ? `${ns}/` : ''}${o.metadata?.name ?? '?'}`;
}

/**
 * The version existing objects are read at to check them against the new schema: the new storage version
 * when the cluster serves it already, else a version both serve; undefined when they share none.
 */
export function versionToCheck(live: Crd, next: Crd): string | undefined {
  const servedLive = new Set((live.spec?.versions ?? []).filter((v) => v.served).map((v) => v.name));
  const nextVersions = (next.spec?.versions ?? []).filter((v) => v.served);
  const storage = nextVersions.find((v) => v.storage);
  if (storage && servedLive.has(storage.name)) return storage.name;
  return nextVersions.find((v) => servedLive.has(v.name))?.name;
}

/**
 * Why `next` may not replace `live`, one line each naming the definition, the version and, for a schema,
 * the first offending object and field; empty when it is safe. `objects` are the existing custom
 * resources as read at `versionToCheck` (none when there are none).
 */
export function crdProblems(live: Crd | undefined, next: Crd, objects: StoredObject[]): string[] {
  if (!live) return [];
  const name = next.metadata?.name ?? live.metadata?.name ?? '?';
  const problems: string[] = [];
  const nextVersions = new Map((next.spec?.versions ?? []).map((v) => [v.name, v]));
  const stored = live.status?.storedVersions ?? [];
  for (const v of stored) {
    if (!nextVersions.has(v)) {
      problems.push(
        `CRD ${name}: the new definition drops version ${v}, which status.storedVersions lists (objects may be stored at it): migrate them to another version and remove ${v} from status.storedVersions first`,
      );
    }
  }
  for (const v of live.spec?.versions ?? []) {
    const after = nextVersions.get(v.name);
    if (v.served && after && !after.served && stored.includes(v.name) && objects.length > 0) {
      problems.push(
        `CRD ${name}: the new definition stops serving version ${v.name} while objects are stored at it (${objectName(objects[0] as StoredObject)} and ${objects.length - 1} more)`,
      );
    }
  }
  const version = versionToCheck(live, next);
  const schema = version ? nextVersions.get(version)?.schema?.openAPIV3Schema : undefined;
  if (schema) {
    for (const o of objects) {
      const wrong = validate(o, schema, '', true);
      if (wrong) {
        problems.push(`CRD ${name}: ${objectName(o)} does not validate against the new schema of ${version}: ${wrong}`);
        break;
      }
    }
  }
  return problems;
}

/** The first way `value` breaks `schema`, as "path: what"; undefined when it fits. */
export function validate(value: unknown, schema: Schema, path: string, root = false): string | undefined {
  const at = path || '(root)';
  if (value === null || value === undefined) {
    return schema.nullable || value === undefined ? undefined : `${at}: must not be null`;
  }
  if (schema['x-kubernetes-int-or-string']) {
    return typeof value === 'string' || Number.isInteger(value) ? undefined : `${at}: must be an integer or a string`;
  }
  const type = schema.type;
  const typeProblem = type && !hasType(value, type);
  if (typeProblem) return `${at}: must be ${article(type)}, not ${describe(value)}`;
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return `${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `${at}: must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${at}: must be at most ${schema.maximum}`;
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      return `${at}: must be at least ${schema.minLength} characters`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      return `${at}: must be at most ${schema.maxLength} characters`;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      return `${at}: must match ${schema.pattern}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      return `${at}: must have at least ${schema.minItems} items`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      return `${at}: must have at most ${schema.maxItems} items`;
    if (schema.items) {
      for (const [i, item] of value.entries()) {
        const wrong = validate(item, schema.items, `${path}[${i}]`);
        if (wrong) return wrong;
      }
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const fields = value as Record<string, unknown>;
    for (const field of schema.required ?? []) {
      if (fields[field] === undefined) return `${join(path, field)}: required, and the object has none`;
    }
    for (const [field, v] of Object.entries(fields)) {
      // apiVersion, kind and metadata are the API server's, whatever the schema says of them.
      if (root && (field === 'apiVersion' || field === 'kind' || field === 'metadata' || field === 'status')) continue;
      const sub = schema.properties?.[field];
      if (sub) {
        const wrong = validate(v, sub, join(path, field));
        if (wrong) return wrong;
      } else if (typeof schema.additionalProperties === 'object') {
        const wrong = validate(v, schema.additionalProperties, join(path, field));
        if (wrong) return wrong;
      }
      // A field the schema does not know is pruned by the API server, not refused: no problem here.
    }
  }
  return undefined;
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * The live definition as a diff against the new one should see it: what a person wrote, without what the
 * API server keeps or defaults on its own (uid, managedFields, status, `conversion: None`, the names it
 * derives), so a diff shows what applying the new one changes, fields it removes included.
 */
export function liveForDiff(live: Crd & { metadata?: Record<string, unknown> }, next: Crd): Crd {
  const meta = (live.metadata ?? {}) as {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  const nextMeta = (next.metadata ?? {}) as { labels?: unknown; annotations?: Record<string, string> };
  const annotations = Object.fromEntries(
    Object.entries(meta.annotations ?? {}).filter(([k]) => nextMeta.annotations?.[k] !== undefined),
  );
  const spec = structuredClone(live.spec ?? {}) as Record<string, unknown> & { names?: Record<string, unknown> };
  const nextSpec = (next.spec ?? {}) as Record<string, unknown> & { names?: Record<string, unknown> };
  const conversion = spec['conversion'] as { strategy?: string } | undefined;
  if (nextSpec['conversion'] === undefined && conversion?.strategy === 'None') delete spec['conversion'];
  for (const derived of ['listKind', 'singular']) {
    if (spec.names && nextSpec.names?.[derived] === undefined) delete spec.names[derived];
  }
  return {
    apiVersion: live.apiVersion ?? next.apiVersion,
    kind: 'CustomResourceDefinition',
    metadata: {
      name: meta.name,
      ...(nextMeta.labels && meta.labels ? { labels: meta.labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: spec,
  };
}

/** Whether applying `next` would change the cluster's definition (`live`, undefined when there is none). */
export function crdDiffers(live: Crd | undefined, next: Crd): boolean {
  return !live || canonical(liveForDiff(live, next)) !== canonical(next);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

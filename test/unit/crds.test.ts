import { describe, expect, it } from 'vitest';
import {
  crdDiffers,
  crdProblems,
  liveForDiff,
  validate,
  versionToCheck,
  type Crd,
  type Schema,
} from '../../src/domain/crds.js';

const spec = (properties: Record<string, Schema>, required?: string[]): { openAPIV3Schema: Schema } => ({
  openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties, required } } },
});

function crd(versions: NonNullable<Crd['spec']>['versions'], storedVersions?: string[]): Crd {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.dev' },
    spec: { group: 'example.dev', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' }, versions },
    ...(storedVersions ? { status: { storedVersions } } : {}),
  };
}

const size = { size: { type: 'integer', minimum: 1 } };
const widget = (s: Record<string, unknown>, name = 'w1') => ({
  apiVersion: 'example.dev/v1',
  kind: 'Widget',
  metadata: { name, namespace: 'default' },
  spec: s,
});

describe('CRD safety: what a new definition may not do to the one a cluster holds', () => {
  const live = crd([{ name: 'v1', served: true, storage: true, schema: spec(size) }], ['v1']);

  it('a new CRD, or one that adds a version and an optional field, is safe', () => {
    expect(crdProblems(undefined, live, [])).toEqual([]);
    const next = crd([
      { name: 'v1', served: true, storage: true, schema: spec({ ...size, color: { type: 'string' } }) },
      { name: 'v2', served: true, storage: false, schema: spec(size) },
    ]);
    expect(crdProblems(live, next, [widget({ size: 3 })])).toEqual([]);
  });

  it('refuses dropping a stored version, naming it', () => {
    const next = crd([{ name: 'v2', served: true, storage: true, schema: spec(size) }]);
    expect(crdProblems(live, next, [])).toEqual([
      'CRD widgets.example.dev: the new definition drops version v1, which status.storedVersions lists (objects may be stored at it): migrate them to another version and remove v1 from status.storedVersions first',
    ]);
  });

  it('refuses to stop serving a stored version that has objects, and allows it when there are none', () => {
    const next = crd([
      { name: 'v1', served: false, storage: false, schema: spec(size) },
      { name: 'v2', served: true, storage: true, schema: spec(size) },
    ]);
    expect(crdProblems(live, next, [])).toEqual([]);
    expect(crdProblems(live, next, [widget({ size: 1 }), widget({ size: 2 }, 'w2')])).toEqual([
      'CRD widgets.example.dev: the new definition stops serving version v1 while objects are stored at it (Widget default/w1 and 1 more)',
    ]);
  });

  it('refuses a schema an existing object breaks, naming the object and the field', () => {
    const required = crd([
      { name: 'v1', served: true, storage: true, schema: spec({ ...size, owner: { type: 'string' } }, ['owner']) },
    ]);
    expect(crdProblems(live, required, [widget({ size: 3, owner: 'a' }), widget({ size: 3 }, 'w2')])).toEqual([
      'CRD widgets.example.dev: Widget default/w2 does not validate against the new schema of v1: spec.owner: required, and the object has none',
    ]);
    const retyped = crd([{ name: 'v1', served: true, storage: true, schema: spec({ size: { type: 'string' } }) }]);
    expect(crdProblems(live, retyped, [widget({ size: 3 })])[0]).toContain('spec.size: must be a string, not number 3');
  });

  it('validates as structural schemas do: enums, bounds, items, int-or-string, unknown fields pruned not refused', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        mode: { type: 'string', enum: ['a', 'b'] },
        replicas: { type: 'integer', minimum: 1, maximum: 5 },
        port: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', items: { type: 'string', maxLength: 3 } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    };
    expect(
      validate({ mode: 'a', replicas: 2, port: 'http', tags: ['x'], labels: { k: 'v' }, other: 1 }, schema, ''),
    ).toBeUndefined();
    expect(validate({ mode: 'c' }, schema, '')).toBe('mode: "c" is not one of "a", "b"');
    expect(validate({ replicas: 9 }, schema, '')).toBe('replicas: must be at most 5');
    expect(validate({ port: 1.5 }, schema, '')).toBe('port: must be an integer or a string');
    expect(validate({ tags: ['ok', 'long'] }, schema, '')).toBe('tags[1]: must be at most 3 characters');
    expect(validate({ labels: { k: 1 } }, schema, '')).toBe('labels.k: must be a string, not number 1');
    expect(validate({ free: { anything: [1] } }, schema, '')).toBeUndefined();
  });

  it('reads objects at the new storage version when the cluster serves it, else at one both serve', () => {
    const next = crd([
      { name: 'v1', served: true, storage: false },
      { name: 'v2', served: true, storage: true },
    ]);
    expect(versionToCheck(live, next)).toBe('v1');
    const both = crd([
      { name: 'v1', served: true, storage: false },
      { name: 'v2', served: true, storage: true },
    ]);
    expect(versionToCheck(both, next)).toBe('v2');
    expect(versionToCheck(live, crd([{ name: 'v3', served: true, storage: true }]))).toBeUndefined();
  });
});

describe('a live CRD as the diff sees it', () => {
  it('leaves out what the API server keeps or defaults, keeps what a person wrote, removed fields included', () => {
    const next = crd([{ name: 'v1', served: true, storage: true, schema: spec(size) }]);
    const live = {
      ...crd([{ name: 'v1', served: true, storage: true, schema: spec({ ...size, old: { type: 'string' } }) }], ['v1']),
      metadata: { name: 'widgets.example.dev', uid: 'u', resourceVersion: '7', managedFields: [{ manager: 'helm' }] },
    } as Crd;
    (live.spec as Record<string, unknown>)['conversion'] = { strategy: 'None' };
    (live.spec?.names as Record<string, unknown>)['listKind'] = 'WidgetList';
    (live.spec?.names as Record<string, unknown>)['singular'] = 'widget';
    const seen = liveForDiff(live, next);
    expect(seen.metadata).toEqual({ name: 'widgets.example.dev' });
    expect(seen.spec?.names).toEqual({ kind: 'Widget', plural: 'widgets' });
    expect(seen.spec).not.toHaveProperty('conversion');
    expect(seen).not.toHaveProperty('status');
    expect(crdDiffers(live, next)).toBe(true); // the field `old` goes
    const same = { ...live, spec: { ...live.spec, versions: next.spec?.versions } } as Crd;
    expect(crdDiffers(same, next)).toBe(false);
    expect(crdDiffers(undefined, next)).toBe(true);
  });
});

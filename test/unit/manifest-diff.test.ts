import { describe, expect, it } from 'vitest';
import { bounded, diffManifests } from '../../src/activities/manifest-diff.js';

const deployment = (image: string, extra = '') => `---
# Source: express/templates/fe.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fe
  labels: { app: fe }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: fe
          image: ${image}
          env:
            - { name: SERVICE_NAME, value: "fe.express" }${extra}
`;
const secret = (password: string, token: string) => `---
apiVersion: v1
kind: Secret
metadata: { name: creds }
data:
  password: ${password}
  token: ${token}
`;

describe('manifest diffs', () => {
  it('shows only what changed, per object, whatever the key order or formatting', () => {
    const reordered = `---
kind: Deployment
apiVersion: apps/v1
metadata: { labels: { app: fe }, name: fe }
spec:
  template: { spec: { containers: [{ image: "express:2.0.0", name: fe, env: [{ name: SERVICE_NAME, value: fe.express }] }] } }
  replicas: 2
`;
    const same = diffManifests(deployment('express:2.0.0'), reordered, 'express');
    expect(same.text).toBe('');
    expect(same.summary).toEqual({ added: {}, changed: {}, removed: {} });

    const d = diffManifests(deployment('express:2.0.0'), deployment('express:2.1.0'), 'express');
    expect(d.summary.changed).toEqual({ Deployment: 1 });
    expect(d.text).toContain('--- Deployment express/fe\n+++ Deployment express/fe\n');
    expect(d.text).toContain('-          image: express:2.0.0\n+          image: express:2.1.0\n');
    expect(d.text).not.toContain('Index:');
  });

  it('is the diff from the team notes: SERVICE_NAME fe.express -> fe3.fe.express', () => {
    const d = diffManifests(
      deployment('express:2.0.0'),
      deployment('express:2.0.0').replace('"fe.express"', '"fe3.fe.express"'),
      'express',
    );
    expect(d.text).toMatch(/-\s+value: fe\.express\n\+\s+value: fe3\.fe\.express\n/);
  });

  it('counts added and removed objects by kind', () => {
    const d = diffManifests(deployment('a'), secret('cA==', 'dA=='), 'express');
    expect(d.summary).toEqual({ added: { Secret: 1 }, changed: {}, removed: { Deployment: 1 } });
    expect(d.text).toContain('--- /dev/null\n+++ Secret express/creds\n');
    expect(d.text).toContain('--- Deployment express/fe\n+++ /dev/null\n');
  });

  it("never shows a Secret's values, only which keys changed", () => {
    const d = diffManifests(secret('b2xk', 'dG9rZW4='), secret('bmV3', 'dG9rZW4='), 'express');
    expect(d.summary.changed).toEqual({ Secret: 1 });
    expect(d.text).toContain('-  password: <redacted>\n+  password: <redacted, changed>\n');
    expect(d.text).not.toMatch(/b2xk|bmV3|dG9rZW4/);
    expect(d.text).not.toContain('token: <redacted, changed>');
    const same = diffManifests(secret('b2xk', 'dA=='), secret('b2xk', 'dA=='), 'express');
    expect(same.text).toBe('');
  });

  it('equal diffs have equal digests, different ones differ', () => {
    const a = diffManifests(deployment('x:1'), deployment('x:2'), 'ns');
    expect(diffManifests(deployment('x:1'), deployment('x:2'), 'ns').digest).toBe(a.digest);
    expect(diffManifests(deployment('x:1'), deployment('x:3'), 'ns').digest).not.toBe(a.digest);
  });

  it('bounds a large diff at a line, with an explicit truncation marker', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `+line ${i}\n`).join('');
    const b = bounded(text, 100);
    expect(b.truncated).toBe(true);
    expect(b.text).toMatch(/^(\+line \d+\n)+\.\.\. diff truncated: \d+ more bytes not shown \(limit 100\)\n$/);
    expect(Buffer.byteLength(b.text.split('...')[0] ?? '')).toBeLessThanOrEqual(100);
    expect(bounded('small\n', 100)).toEqual({ text: 'small\n', truncated: false });
  });

  it('names cluster-scoped objects without a namespace, as discovery (or the built-in kinds) says', () => {
    const role = (verbs: string) => `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: express-operator }
rules: [{ apiGroups: [''], resources: [pods], verbs: [${verbs}] }]
`;
    const d = diffManifests(role('get'), role('get, list'), 'express-system');
    expect(d.text).toContain('--- ClusterRole express-operator\n+++ ClusterRole express-operator');
    const crd = `---
apiVersion: example.com/v1
kind: Widget
metadata: { name: w }
`;
    const scoped = diffManifests('', crd, 'express', new Set(['example.com/v1/Widget']));
    expect(scoped.text).toContain('+++ Widget w\n');
    expect(diffManifests('', crd, 'express').text).toContain('+++ Widget express/w\n');
  });

  it('prunes null values before comparing, as the API server does', () => {
    const d = diffManifests(
      deployment('x:1'),
      deployment('x:1').replace('replicas: 2', 'replicas: 2\n  paused: null'),
      'ns',
    );
    expect(d.text).toBe('');
  });

  it('counts a change of Helm bookkeeping labels alone apart from real changes, and still shows it', () => {
    const labelled = (chart: string, image = 'x:1') =>
      deployment(image).replace(
        'labels: { app: fe }',
        `labels: { app: fe, helm.sh/chart: "${chart}", app.kubernetes.io/version: "${chart}" }`,
      );
    const d = diffManifests(labelled('2.0.0'), labelled('2.1.0'), 'ns');
    expect(d.summary).toEqual({ added: {}, changed: {}, removed: {}, relabelled: { Deployment: 1 } });
    expect(d.text).toContain('+    helm.sh/chart: 2.1.0');
    const real = diffManifests(labelled('2.0.0'), labelled('2.1.0', 'x:2'), 'ns');
    expect(real.summary).toEqual({ added: {}, changed: { Deployment: 1 }, removed: {} });
  });
});

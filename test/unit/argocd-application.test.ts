import { describe, expect, it } from 'vitest';
import {
  applicationName,
  applicationSetProblem,
  changeMark,
  chartLocation,
  desiredState,
  markInfo,
  operationView,
  parentProblem,
  settledView,
  syncOperation,
  terminationPatch,
  trackingParent,
  type Application,
} from '../../src/drivers/argocd/application.js';
import type { ReleaseSpec } from '../../src/plan/schema.js';

const release: ReleaseSpec = {
  driver: 'argocd',
  argocd: { context: 'control', namespace: 'argocd', application: '{{cluster}}-{{releaseName}}', healthyGrace: '10s' },
  chart: 'express',
  repository: 'http://charts.example/',
  version: '2.3.0',
  releaseName: 'express',
  namespace: 'express',
  values: ['values/express.yaml'],
  timeout: '10m',
  crds: 'apply',
};
const source = {
  kind: 'git' as const,
  url: 'git://config.example/config.git',
  ref: 'main',
  commit: 'a'.repeat(40),
  path: 'plans',
};

describe('Argo CD Applications', () => {
  it('names each cluster its Application from the template', () => {
    expect(applicationName('{{cluster}}-{{releaseName}}', 'eu-1', release)).toBe('eu-1-express');
  });

  it('pins the chart at the version and the values at the commit, keeping the chart source fields it does not own', () => {
    const app: Application = {
      spec: {
        source: {
          repoURL: 'http://charts.example/',
          chart: 'express',
          targetRevision: '2.2.0',
          helm: { parameters: [{ name: 'a', value: 'b' }], valueFiles: ['old.yaml'] },
        },
      },
    };
    const desired = desiredState(app, release, '2.3.0', source, [
      'values/express.yaml',
      '../overlays/eu/eu-1/values.yaml',
    ]);
    expect(desired.revisions).toEqual(['2.3.0', source.commit]);
    expect(desired.sources).toEqual([
      {
        repoURL: 'http://charts.example/',
        chart: 'express',
        targetRevision: '2.3.0',
        helm: {
          parameters: [{ name: 'a', value: 'b' }],
          releaseName: 'express',
          valueFiles: ['$values/plans/values/express.yaml', '$values/overlays/eu/eu-1/values.yaml'],
        },
      },
      { repoURL: source.url, targetRevision: source.commit, ref: 'values' },
    ]);
  });

  it('splits an oci:// chart into the registry path and the chart', () => {
    expect(chartLocation({ chart: 'oci://registry.example/charts/express' })).toEqual({
      repoURL: 'registry.example/charts',
      chart: 'express',
    });
  });

  it('writes the revisions out, marks the sync and keeps the Application’s sync options', () => {
    const app: Application = {
      spec: { syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true'] } },
    };
    const op = syncOperation(app, { sources: [], revisions: ['2.3.0', 'abc'] }, 'mark', 3, 'r1');
    expect(op.initiatedBy).toEqual({ username: 'phased-rollout r1' });
    expect(op.sync).toEqual({
      revisions: ['2.3.0', 'abc'],
      prune: true,
      syncOptions: ['ServerSideApply=true'],
    });
    expect(op.info).toEqual([
      { name: markInfo, value: 'mark' },
      { name: 'phased-rollout.io/attempt', value: '3' },
    ]);
  });

  it('tells its own operation from a foreign one, running or ended', () => {
    const mark = changeMark('r1', 'eu-1', 'express', ['2.3.0', 'abc']);
    const ours = { info: [{ name: markInfo, value: mark }] };
    expect(operationView({}, mark)).toEqual({ kind: 'none' });
    expect(operationView({ operation: { initiatedBy: { automated: true } } }, mark)).toEqual({
      kind: 'foreign-running',
      by: 'auto-sync',
    });
    expect(operationView({ operation: ours }, mark)).toEqual({ kind: 'ours-running' });
    expect(
      operationView(
        { status: { operationState: { phase: 'Running', operation: { initiatedBy: { username: 'ann' } } } } },
        mark,
      ),
    ).toEqual({ kind: 'foreign-running', by: 'ann' });
    expect(
      operationView(
        { status: { operationState: { phase: 'Succeeded', operation: { initiatedBy: { username: 'ann' } } } } },
        mark,
      ),
    ).toEqual({ kind: 'none' });
    expect(
      operationView(
        {
          status: {
            operationState: {
              phase: 'Failed',
              message: 'one or more objects failed to apply',
              operation: ours,
              syncResult: { revisions: ['2.3.0', 'abc'] },
              finishedAt: '2026-12-04T10:00:00Z',
            },
          },
        },
        mark,
      ),
    ).toEqual({
      kind: 'ours-done',
      phase: 'Failed',
      message: 'one or more objects failed to apply',
      revisions: ['2.3.0', 'abc'],
      finishedAt: '2026-12-04T10:00:00Z',
    });
  });

  it('ends only its own stuck operation: a running one is set Terminating, a queued one taken back', () => {
    const mark = changeMark('r1', 'eu-1', 'express', ['2.3.0', 'abc']);
    const ours = { info: [{ name: markInfo, value: mark }] };
    const meta = { resourceVersion: '42' };
    expect(
      terminationPatch(
        { metadata: meta, operation: ours, status: { operationState: { phase: 'Running', operation: ours } } },
        mark,
      ),
    ).toEqual({ metadata: meta, status: { operationState: { phase: 'Terminating' } } });
    // Queued, never picked up by the controller: the request is withdrawn.
    expect(terminationPatch({ metadata: meta, operation: ours }, mark)).toEqual({ metadata: meta, operation: null });
    // Terminating already, someone else's, or ended: nothing to write.
    expect(
      terminationPatch(
        { metadata: meta, operation: ours, status: { operationState: { phase: 'Terminating', operation: ours } } },
        mark,
      ),
    ).toBeUndefined();
    const ann = { initiatedBy: { username: 'ann' } };
    expect(
      terminationPatch(
        { metadata: meta, operation: ann, status: { operationState: { phase: 'Running', operation: ann } } },
        mark,
      ),
    ).toBeUndefined();
    expect(
      terminationPatch({ metadata: meta, status: { operationState: { phase: 'Failed', operation: ours } } }, mark),
    ).toBeUndefined();
  });

  it('is settled only when Synced at the desired revisions and Healthy; Degraded or a changed spec fail', () => {
    const desired = desiredState({}, release, '2.3.0', source, []);
    const at = (sync: string, revisions: string[], health: string, sources = desired.sources): Application => ({
      spec: { sources },
      status: { sync: { status: sync, revisions }, health: { status: health } },
    });
    expect(settledView(at('Synced', ['2.3.0', source.commit], 'Healthy'), desired)).toEqual({ healthy: true });
    expect(settledView(at('Synced', ['2.3.0', source.commit], 'Progressing'), desired)).toBeUndefined();
    expect(settledView(at('Synced', ['2.2.0', source.commit], 'Healthy'), desired)).toBeUndefined();
    expect(settledView(at('OutOfSync', ['2.3.0', source.commit], 'Healthy'), desired)).toBeUndefined();
    expect(settledView(at('Synced', ['2.3.0', source.commit], 'Degraded'), desired)).toEqual({
      failed: 'Argo CD reports it Degraded',
    });
    const edited = [{ ...desired.sources[0], targetRevision: '9.9.9' }, desired.sources[1]] as typeof desired.sources;
    expect(settledView(at('Synced', ['2.3.0', source.commit], 'Healthy', edited), desired)).toMatchObject({
      failed: expect.stringContaining('changed by someone else') as string,
    });
  });

  it('refuses an ApplicationSet or a self-healing parent that would revert the sources, unless they ignore them', () => {
    expect(applicationSetProblem({ spec: {} }, 'eu-1-express', 'express')).toMatch(/ignoreApplicationDifferences/);
    expect(
      applicationSetProblem({ spec: { syncPolicy: { applicationsSync: 'create-only' } } }, 'a', 's'),
    ).toBeUndefined();
    expect(
      applicationSetProblem(
        { spec: { ignoreApplicationDifferences: [{ jsonPointers: ['/spec/source', '/spec/sources'] }] } },
        'a',
        's',
      ),
    ).toBeUndefined();
    expect(
      applicationSetProblem(
        {
          spec: { ignoreApplicationDifferences: [{ name: 'other', jsonPointers: ['/spec/source', '/spec/sources'] }] },
        },
        'a',
        's',
      ),
    ).toMatch(/rewrites/);
    const parent: Application = { spec: { syncPolicy: { automated: { selfHeal: true } } } };
    expect(parentProblem(parent, 'apps')).toMatch(
      /self-heal on, which reverts its spec.sources; add ignoreDifferences/,
    );
    // Auto-sync without self-heal reverts at the parent's next sync; a parent synced by hand is let be.
    expect(parentProblem({ spec: { syncPolicy: { automated: { selfHeal: false } } } }, 'apps')).toMatch(
      /auto-sync on, whose next sync reverts/,
    );
    expect(parentProblem({ spec: {} }, 'apps')).toBeUndefined();
    const ignoring = {
      syncPolicy: { automated: { selfHeal: true } },
      ignoreDifferences: [
        { group: 'argoproj.io', kind: 'Application', jsonPointers: ['/spec/source', '/spec/sources'] },
      ],
    };
    // Ignored in its diff but still written by its sync.
    expect(parentProblem({ spec: ignoring }, 'apps')).toMatch(/add the sync option RespectIgnoreDifferences=true/);
    expect(
      parentProblem(
        {
          spec: { ...ignoring, syncPolicy: { ...ignoring.syncPolicy, syncOptions: ['RespectIgnoreDifferences=true'] } },
        },
        'apps',
      ),
    ).toBeUndefined();
    expect(
      trackingParent({
        metadata: { annotations: { 'argocd.argoproj.io/tracking-id': 'apps:argoproj.io/Application:argocd/eu-1' } },
      }),
    ).toBe('apps');
  });
});

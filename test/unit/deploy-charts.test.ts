/**
 * The charts a platform team deploys the tool with, rendered by real Helm: `helm lint`, what each
 * setting produces, and what a bad setting is refused with. The access chart's rights are proven on a
 * real API server in the e2e suite; here, that they stay within what it documents.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ensureTool } from '../../src/tools/toolchain.js';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const worker = `${root}deploy/charts/phased-rollout-worker`;
const access = `${root}deploy/charts/phased-rollout-access`;
let helm = '';

/** The parts of the worker's pod spec the tests read. */
interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext?: object;
  terminationGracePeriodSeconds?: number;
  containers: {
    command?: string[];
    args?: string[];
    securityContext?: object;
    readinessProbe: { httpGet: object };
    livenessProbe: { httpGet: object };
    resources: { requests: { memory: string } };
    env: { name: string; value?: string; valueFrom?: unknown }[];
  }[];
  volumes: { name: string; secret?: { secretName: string } }[];
}

function podOf(objs: Obj[]): PodSpec {
  const d = objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } };
  return d.spec.template.spec;
}

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

async function render(chart: string, args: string[]): Promise<Obj[]> {
  const { stdout } = await exec(helm, ['template', 'rollout', chart, '-n', 'rollout', ...args]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

async function refusal(chart: string, args: string[]): Promise<string> {
  return render(chart, args).then(
    () => 'rendered',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
}

beforeAll(async () => {
  helm = await ensureTool('helm');
});

describe('the worker chart', () => {
  const required = ['--set', 'kubeconfig.secretName=target-clusters'];

  it('lints, and refuses to render without the target clusters kubeconfig, saying which setting', async () => {
    const lint = await exec(helm, ['lint', '--strict', worker, ...required]);
    expect(lint.stdout).toContain('0 chart(s) failed');
    expect(await refusal(worker, [...required, '--set', 'workerVersioning.buildId=b2'])).toContain(
      'workerVersioning: set both deploymentName and buildId, or neither',
    );
    expect(await refusal(worker, [])).toContain('kubeconfig.secretName is required');
    expect(
      await refusal(worker, [...required, '--set', 'sinks[0].env=SLACK,sinks[0].secretName=s,sinks[0].key=k']),
    ).toContain('sinks: SLACK must start with ROLLOUT_SINK_');
  });

  it('runs non-root on a read-only root, mounts no API token, probes health, spreads and keeps a PDB', async () => {
    const objs = await render(worker, required);
    expect(objs.map((o) => o.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    expect((objs.find((o) => o.kind === 'Deployment')?.['spec'] as { replicas: number }).replicas).toBe(2);
    const pod = podOf(objs);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    const c = pod.containers[0];
    if (!c) throw new Error('no container');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // The image's entrypoint is the CLI: the worker is started as its own command, not as an argument.
    expect(c.command).toEqual(['rollout-worker']);
    expect(c.args).toBeUndefined();
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'health' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10); // the worker's own grace is 10 s
    expect(c.resources.requests.memory).toBe('512Mi');
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      KUBECONFIG: '/etc/phased-rollout/kubeconfig/config',
      ROLLOUT_HEALTH_ADDRESS: '0.0.0.0:8080',
      ROLLOUT_METRICS_ADDRESS: '0.0.0.0:9464',
      ROLLOUT_LOG_FORMAT: 'json',
    });
    expect(env['TEMPORAL_TLS_CERT']).toBeUndefined();
    const sa = objs.find((o) => o.kind === 'ServiceAccount');
    expect(sa?.['automountServiceAccountToken']).toBe(false);
    // It grants itself nothing where it runs.
    expect(objs.some((o) => /Role/.test(o.kind))).toBe(false);
    expect(objs.find((o) => o.kind === 'PodDisruptionBudget')?.['spec']).toMatchObject({ maxUnavailable: 1 });
  });

  it('takes every secret by reference: mTLS, API key, credentials file and sinks never appear as values', async () => {
    const objs = await render(worker, [
      ...required,
      '--set',
      'temporal.tls.secretName=temporal-mtls,temporal.tls.serverName=frontend.temporal',
      '--set',
      'temporal.apiKey.secretName=temporal-key',
      '--set',
      'credentials.secretName=rollout-credentials',
      '--set',
      'sinks[0].env=ROLLOUT_SINK_SLACK,sinks[0].secretName=rollout-sinks,sinks[0].key=slack',
    ]);
    const pod = podOf(objs);
    const byName = Object.fromEntries((pod.containers[0]?.env ?? []).map((e) => [e.name, e]));
    expect(byName['TEMPORAL_TLS_CERT']?.value).toBe('/etc/temporal-tls/tls.crt');
    expect(byName['TEMPORAL_TLS_SERVER_NAME']?.value).toBe('frontend.temporal');
    expect(byName['TEMPORAL_API_KEY']?.valueFrom).toEqual({ secretKeyRef: { name: 'temporal-key', key: 'api-key' } });
    expect(byName['ROLLOUT_SINK_SLACK']?.valueFrom).toEqual({ secretKeyRef: { name: 'rollout-sinks', key: 'slack' } });
    expect(byName['ROLLOUT_DEPLOYMENT_NAME']).toBeUndefined();
    expect(byName['ROLLOUT_CREDENTIALS']?.value).toBe('/etc/phased-rollout/credentials/credentials.yaml');
    const secrets = pod.volumes
      .filter((v) => v.secret)
      .map((v) => v.secret?.secretName)
      .sort();
    expect(secrets).toEqual(['rollout-credentials', 'target-clusters', 'temporal-mtls']);
    expect(
      objs.some((o) => o.kind === 'Secret'),
      'the chart creates no Secret',
    ).toBe(false);
  });
});

describe('the access chart', () => {
  const lab = ['-f', `${root}lab/access-values.yaml`];

  it('lints; grants nothing but reading CRDs with no values; no wildcard and no cluster-wide Secrets, ever', async () => {
    expect((await exec(helm, ['lint', '--strict', access, ...lab])).stdout).toContain('0 chart(s) failed');
    const bare = await render(access, []);
    const clusterRole = bare.find((o) => o.kind === 'ClusterRole') as unknown as {
      rules: { resources: string[]; verbs: string[] }[];
    };
    expect(clusterRole.rules).toEqual([
      {
        apiGroups: ['apiextensions.k8s.io'],
        resources: ['customresourcedefinitions'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    expect(bare.filter((o) => o.kind === 'Role')).toEqual([]);
    for (const o of await render(access, lab)) {
      for (const rule of (o['rules'] as { resources: string[]; verbs: string[]; apiGroups: string[] }[] | undefined) ??
        []) {
        expect([...rule.resources, ...rule.verbs, ...rule.apiGroups], `${o.kind} ${o.metadata.name}`).not.toContain(
          '*',
        );
        if (o.kind === 'ClusterRole') expect(rule.resources).not.toContain('secrets');
      }
    }
  });

  it("gives each release namespace Helm's records, verification reads and the chart's kinds; the cache object by name only", async () => {
    const objs = await render(access, lab);
    const roles = objs.filter((o) => o.kind === 'Role').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(roles.sort()).toEqual([
      'express-system/rollout-release',
      'express/rollout-cache-0',
      'express/rollout-release',
      'express/rollout-synchronizer',
    ]);
    const cache = objs.find((o) => o.metadata.name === 'rollout-cache-0' && o.kind === 'Role');
    expect(cache?.['rules']).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['express-cache'], verbs: ['get', 'list', 'watch'] },
    ]);
    const crdRules = objs.find((o) => o.kind === 'ClusterRole')?.['rules'] as {
      resourceNames?: string[];
      verbs: string[];
    }[];
    expect(crdRules.find((r) => r.verbs.includes('patch'))?.resourceNames).toEqual(['expresses.phased-rollout.dev']);
    for (const b of objs.filter((o) => /Binding$/.test(o.kind))) {
      expect(b['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'phased-rollout', namespace: 'rollout' }]);
    }
  });

  it("on Argo CD's control cluster: Applications read, watched and patched, ApplicationSets read, in its namespace only", async () => {
    const objs = await render(access, ['--set', 'argocd.namespace=argocd']);
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.name === 'rollout-argocd');
    expect(role?.metadata.namespace).toBe('argocd');
    expect(role?.['rules']).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['applications'], verbs: ['get', 'list', 'watch', 'patch'] },
      { apiGroups: ['argoproj.io'], resources: ['applicationsets'], verbs: ['get'] },
    ]);
    const binding = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'rollout-argocd');
    expect(binding?.['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'phased-rollout', namespace: 'rollout' }]);
  });

  it('refuses a release without a namespace, or two entries for one namespace, naming the entry', async () => {
    expect(await refusal(access, ['--set', 'releases[0].resources=null'])).toContain(
      'releases[0].namespace is required',
    );
    expect(await refusal(access, ['--set', 'releases[0].namespace=a,releases[1].namespace=a'])).toContain(
      'releases[1].namespace a is already releases[0]',
    );
  });
});

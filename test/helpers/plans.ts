import type { RolloutInput } from '../../src/domain/types.js';
import { RolloutPlan, type RolloutPlanInput } from '../../src/plan/schema.js';

type PhaseIn = RolloutPlanInput['spec']['phases'][number];

/** The test plans' cache check: a ConfigMap field equal to the version. */
const testCache = {
  check: {
    type: 'object-field' as const,
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: 'cache',
    field: 'data.v',
    equals: '{{version}}',
  },
};

/**
 * A valid plan for workflow tests: phases of named clusters (`c1`, `c2`...), with a synchronizer and
 * cache check so every step runs. Options override the spec's parts.
 */
export function testInput(
  phases: PhaseIn[],
  spec: Partial<RolloutPlanInput['spec']> = {},
  versions = { chart: '3.0.0', operator: '1.5.0' },
): RolloutInput {
  const names = phases.flatMap((p) => p.clusters ?? []);
  const plan = RolloutPlan.parse({
    apiVersion: 'phased-rollout.dev/v1alpha1',
    kind: 'RolloutPlan',
    metadata: { name: 'test' },
    spec: {
      release: {
        operator: { chart: './op', version: versions.operator, releaseName: 'op', namespace: 'op-system' },
        chart: { chart: './app', version: versions.chart, releaseName: 'app', namespace: 'app' },
      },
      synchronizer: { template: { inline: { kind: 'Job' } }, namespace: 'app' },
      cache: testCache,
      verify: { interval: '1s' },
      clusters: names.map((n) => ({ name: n, context: `ctx-${n}` })),
      phases,
      ...spec,
    },
  });
  return {
    plan,
    source: { kind: 'local', baseDir: '/plans', digests: {}, digest: 'sha256:0123456789abcdef' },
    versions: { operator: versions.operator, chart: versions.chart },
    startedBy: 'tester',
  };
}

/**
 * A plan of four components for workflow tests: the operator, the synchronizer step, `express`, `farmer`,
 * and `accelerator` only on clusters labelled `accelerators: "true"`. Each component's release is named as
 * the component (the fake fleet keys its releases by that name). `accelerated` lists the labelled clusters.
 */
export function componentsInput(
  phases: PhaseIn[],
  accelerated: string[],
  spec: Partial<RolloutPlanInput['spec']> = {},
  versions: Record<string, string> = {},
): RolloutInput {
  const names = phases.flatMap((p) => p.clusters ?? []);
  const component = (name: string, version: string, extra: object = {}) => ({
    name,
    chart: `./${name}`,
    version,
    releaseName: name,
    namespace: name === 'operator' ? 'express-system' : 'express',
    ...extra,
  });
  const plan = RolloutPlan.parse({
    apiVersion: 'phased-rollout.dev/v1alpha1',
    kind: 'RolloutPlan',
    metadata: { name: 'product' },
    spec: {
      release: {
        components: [
          component('operator', '1.5.0'),
          { step: 'synchronizer' },
          component('express', '3.0.0'),
          component('farmer', '1.4.0'),
          component('accelerator', '1.0.0', { selector: { matchLabels: { accelerators: 'true' } } }),
        ],
      },
      synchronizer: { template: { inline: { kind: 'Job' } }, namespace: 'express' },
      cache: testCache,
      verify: { interval: '1s' },
      clusters: names.map((n) => ({
        name: n,
        context: `ctx-${n}`,
        labels: accelerated.includes(n) ? { accelerators: 'true' } : {},
      })),
      phases,
      ...spec,
    },
  });
  return {
    plan,
    source: { kind: 'local', baseDir: '/plans', digests: {}, digest: 'sha256:0123456789abcdef' },
    versions: { operator: '1.5.0', express: '3.0.0', farmer: '1.4.0', accelerator: '1.0.0', ...versions },
    startedBy: 'tester',
  };
}

/** What the components' clusters run before a test: every component installed at an older version. */
export const componentsBefore = { operator: '1.0.0', express: '2.0.0', farmer: '1.3.0', accelerator: '0.9.0' };

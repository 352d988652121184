import type { RolloutInput } from '../../src/domain/types.js';
import { RolloutPlan, type RolloutPlanInput } from '../../src/plan/schema.js';

type PhaseIn = RolloutPlanInput['spec']['phases'][number];

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
      cache: {
        check: {
          type: 'object-field',
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'cache',
          field: 'data.v',
          equals: '{{version}}',
        },
      },
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

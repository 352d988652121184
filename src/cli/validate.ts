import { resolvePhases } from '../plan/resolve.js';
import { loadPlanFile, print } from './shared.js';

/** `rollout validate PLAN`: every error with its path, or the resolved order the rollout will follow. */
export function validateCommand(file: string): void {
  const { plan } = loadPlanFile(file);
  const { release, onFailure } = plan.spec;
  const lines = [
    `${file}: valid plan "${plan.metadata.name}"`,
    `  operator ${release.operator.releaseName} ${release.operator.version} (${release.operator.chart})`,
    `  chart    ${release.chart.releaseName} ${release.chart.version} (${release.chart.chart})`,
    `  on failure: ${onFailure.action}${onFailure.action === 'rollback' ? ` (scope ${onFailure.rollbackScope})` : ''}`,
    '  order:',
  ];
  resolvePhases(plan).forEach((p, i) => {
    const gate = p.approval === 'required' ? 'approval required' : 'starts automatically';
    lines.push(
      `    ${i + 1}. ${p.name}: ${p.clusters.join(', ')}  [${gate}; maxParallel ${p.maxParallel}; maxFailures ${p.maxFailures}; bake ${p.bake}]`,
    );
  });
  print(lines.join('\n'));
}

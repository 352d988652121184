import type { Command } from 'commander';
import { describeSource } from '../domain/source.js';
import { resolvePhases } from '../plan/resolve.js';
import { componentsOf } from '../plan/components.js';
import { loadPlanFile } from './plan-file.js';
import { action, outputOption, type Outcome } from './verb.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .argument('<plan>', 'plan file')
    .description('check a plan and the files it names, and print the order it rolls in')
    .addOption(outputOption())
    .action(action(validateCommand));
}

/** `rollout validate PLAN`: every error with its path (exit 2), or the resolved order the rollout will follow. */
export async function validateCommand(file: string): Promise<Outcome> {
  const { plan, source } = await loadPlanFile(file);
  const { onFailure } = plan.spec;
  const lines = [
    `${file}: valid plan "${plan.metadata.name}"`,
    ...componentsOf(plan).flatMap((c) => [
      ...(c.afterCache ? ['  then the synchronizer and the cache wait'] : []),
      `  ${c.name}: ${c.release.releaseName} ${c.release.version} (${c.release.chart})${
        c.matchLabels
          ? ` only on clusters labelled ${Object.entries(c.matchLabels)
              .map(([k, v]) => `${k}=${v}`)
              .join(',')}`
          : ''
      }${
        c.release.argocd
          ? `, through Argo CD: Application ${c.release.argocd.application} in ${c.release.argocd.namespace} on ${c.release.argocd.context}`
          : ''
      }`,
    ]),
    `  source   ${describeSource(source)}`,
    `  on failure: ${onFailure.action}${onFailure.action === 'rollback' ? ` (scope ${onFailure.rollbackScope})` : ''}`,
    '  order:',
  ];
  resolvePhases(plan).forEach((p, i) => {
    const gate = p.approval === 'required' ? 'approval required' : 'starts automatically';
    lines.push(
      `    ${i + 1}. ${p.name}: ${p.clusters.join(', ')}  [${gate}; maxParallel ${p.maxParallel}; maxFailures ${p.maxFailures}; bake ${p.bake}]`,
    );
  });
  return { text: lines.join('\n'), data: { plan, phases: resolvePhases(plan) } };
}

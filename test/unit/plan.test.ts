import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PlanError } from '../../src/plan/errors.js';
import { parsePlan } from '../../src/plan/load.js';
import { resolvePhases } from '../../src/plan/resolve.js';
import { componentsOf, primaryComponent } from '../../src/plan/components.js';
import { parseDuration } from '../../src/plan/duration.js';
import { renderTemplate } from '../../src/plan/template.js';
import { planJsonSchema } from '../../src/plan/json-schema.js';

const plansDir = fileURLToPath(new URL('../../rollout-plans/', import.meta.url));
const lab = readFileSync(`${plansDir}lab.yaml`, 'utf8');

function issuesOf(text: string) {
  try {
    parsePlan(text, 'plan.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PlanError);
    return (err as PlanError).issues;
  }
  throw new Error('plan was accepted');
}

/** 1-based line of the first occurrence of `needle` in `text`. */
function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split('\n').length;
}

/** The lab plan with one text replacement, which must occur. */
function labWith(from: string | RegExp, to: string): string {
  const out = lab.replace(from, to);
  expect(out, `replacement of ${String(from)} did not apply`).not.toBe(lab);
  return out;
}

describe('shipped plans', () => {
  it.each(readdirSync(plansDir).filter((f) => f.endsWith('.yaml')))('%s validates', (file) => {
    const plan = parsePlan(readFileSync(plansDir + file, 'utf8'), file);
    expect(resolvePhases(plan).every((p) => p.clusters.length > 0)).toBe(true);
  });

  it('resolves the lab plan into a canary then a wave of two', () => {
    const phases = resolvePhases(parsePlan(lab, 'lab.yaml'));
    expect(phases.map((p) => [p.name, p.clusters, p.approval, p.maxParallel])).toEqual([
      ['canary', ['lab-1'], 'auto', 1],
      ['wave-1', ['lab-2', 'lab-3'], 'required', 2],
    ]);
  });
});

describe('invalid plans: every problem, with its path and position', () => {
  const cases: [string, string, string, RegExp, boolean?][] = [
    ['unknown top-level spec key', 'onFailure:', 'onFailur:', /^spec\.onFailur$/, true],
    ['misspelled phase key', 'maxParallel: 2', 'maxParalel: 2', /^spec\.phases\[1\]\.maxParalel$/, true],
    ['maxParallel zero', 'maxParallel: 2', 'maxParallel: 0', /^spec\.phases\[1\]\.maxParallel$/, true],
    [
      'negative maxFailures',
      'maxParallel: 2',
      'maxParallel: 2\n      maxFailures: -1',
      /^spec\.phases\[1\]\.maxFailures$/,
    ],
    ['bad duration', 'bake: 20s', 'bake: 20 seconds', /^spec\.phases\[0\]\.bake$/, true],
    ['chart version not semver', 'version: 2.1.0', "version: '2.1'", /^spec\.release\.chart\.version$/],
    ['operator version not semver', 'version: 1.1.0', 'version: latest', /^spec\.release\.operator\.version$/],
    ['version as a number', 'version: 2.1.0', 'version: 2.1', /^spec\.release\.chart\.version$/],
    ['wrong apiVersion', 'phased-rollout.dev/v1alpha1', 'phased-rollout.dev/v9', /^apiVersion$/, true],
    ['wrong kind', 'kind: RolloutPlan', 'kind: Plan', /^kind$/, true],
    ['bad plan name', 'name: lab\n', 'name: Lab_Plan\n', /^metadata\.name$/],
    ['bad approval', 'approval: required', 'approval: maybe', /^spec\.phases\[1\]\.approval$/],
    ['bad failure action', 'action: rollback', 'action: explode', /^spec\.onFailure\.action$/],
    ['bad rollback scope', 'rollbackScope: phase', 'rollbackScope: world', /^spec\.onFailure\.rollbackScope$/],
    [
      'unknown approver group',
      '  onFailure:',
      '  approvals: { required: [alice, "group:sre"], groups: { dba: [dan] } }\n  onFailure:',
      /^spec\.approvals\.required\[1\]$/,
    ],
    ['unknown cache check type', 'type: object-field', 'type: s3-object', /^spec\.cache\.check\.type$/],
    [
      'http check with bad url',
      'type: object-field',
      'type: http\n      url: not a url\n      x: 1',
      /^spec\.cache\.check/,
    ],
    [
      'phase with both list and selector',
      'clusters: [lab-1]',
      'clusters: [lab-1]\n      selector: { matchLabels: { a: b } }',
      /^spec\.phases\[0\]$/,
    ],
    ['synchronizer with no template', 'file: ../charts/synchronizer-job.yaml', '{}', /^spec\.synchronizer\.template/],
    [
      'unknown cluster in a phase',
      'clusters: [lab-1]',
      'clusters: [lab-1, lab-9]',
      /^spec\.phases\[0\]\.clusters\[1\]$/,
    ],
    [
      'selector matching nothing',
      'matchLabels: { tier: wave }',
      'matchLabels: { tier: nothing }',
      /^spec\.phases\[1\]\.selector$/,
    ],
    ['cluster in two phases', 'clusters: [lab-1]', 'clusters: [lab-1, lab-2]', /^spec\.phases\[1\]$/],
    ['duplicate cluster name', 'name: lab-3', 'name: lab-2', /^spec\.clusters\[2\]\.name$/],
    ['duplicate context', 'context: kwok-lab-3', 'context: kwok-lab-2', /^spec\.clusters\[2\]\.context$/],
    ['duplicate phase name', 'name: wave-1', 'name: canary', /^spec\.phases\[1\]\.name$/],
    ['missing release name', '      releaseName: express\n', '', /^spec\.release\.chart\.releaseName$/],
    ['bad label key', 'tier: canary', '"bad key!": canary', /^spec\.clusters\[0\]\.labels/],
    [
      'git URL with credentials in it',
      'spec:\n',
      'spec:\n  source:\n    git: { url: "https://bot:ghp_secret@git.example/config.git" }\n',
      /^spec\.source\.git\.url$/,
    ],
    [
      'git URL with a token as its user',
      'spec:\n',
      'spec:\n  source:\n    git: { url: "https://ghp_secret@git.example/config.git" }\n',
      /^spec\.source\.git\.url$/,
    ],
    [
      'source path leaving the repository',
      'spec:\n',
      'spec:\n  source:\n    git: { url: "https://git.example/config.git", path: ../elsewhere }\n',
      /^spec\.source\.git\.path$/,
    ],
    [
      'notification sink with its URL in the plan',
      'onFailure:',
      'notifications:\n    sinks: [{ name: ops, type: webhook, urlFrom: { url: "https://hooks.example/T0KEN" } }]\n  onFailure:',
      /^spec\.notifications\.sinks\[0\]\.urlFrom/,
    ],
    [
      'unknown notification event',
      'onFailure:',
      'notifications:\n    sinks: [{ name: ops, type: slack, urlFrom: { env: ROLLOUT_SINK_OPS }, events: [deployed] }]\n  onFailure:',
      /^spec\.notifications\.sinks\[0\]\.events\[0\]$/,
    ],
    [
      'deploy window with a bad cron expression',
      'onFailure:',
      'windows: [{ name: w, kind: allow, schedule: "every day at 8", duration: 1h }]\n  onFailure:',
      /^spec\.windows\[0\]\.schedule$/,
    ],
    [
      'deploy window in an unknown time zone',
      'onFailure:',
      'windows: [{ name: w, kind: allow, schedule: "0 8 * * *", duration: 1h, timeZone: Europe/Atlantis }]\n  onFailure:',
      /^spec\.windows\[0\]\.timeZone$/,
    ],
    [
      'deploy windows that never let a cluster start',
      'onFailure:',
      'windows: [{ name: never, kind: deny, schedule: "* * * * *", duration: 5m, phases: [wave-1] }]\n  onFailure:',
      /^spec\.phases\[1\]$/,
    ],
    [
      'analysis condition that does not compile',
      'onFailure:',
      'analysis: { address: "http://prom:9090", templates: [{ name: e, query: "up", successCondition: "result <<< 1" }] }\n  onFailure:',
      /^spec\.analysis\.templates\[0\]\.successCondition$/,
    ],
    [
      'verify naming an unknown analysis',
      'window: 3s',
      'window: 3s\n    analyses: [error-rate]',
      /^spec\.verify\.analyses\[0\]$/,
    ],
    [
      "a token variable of the worker's, named by the plan (the worker declares its credentials)",
      'spec:\n',
      'spec:\n  source:\n    git: { url: "https://git.example/config.git", tokenEnv: TOKEN }\n',
      /^spec\.source\.git\.tokenEnv$/,
    ],
    [
      'a chart repository URL with credentials in it (they would be in every history)',
      'repository: http://127.0.0.1:8879\n      version: 2.1.0',
      'repository: http://admin:s3cret@127.0.0.1:8879\n      version: 2.1.0',
      /^spec\.release\.chart\.repository$/,
    ],
    [
      'an OCI chart reference with credentials in it',
      'chart: express\n',
      'chart: oci://robot:t0ken@registry.example/charts/express\n',
      /^spec\.release\.chart\.chart$/,
    ],
    [
      'a credential name that is not a name',
      'spec:\n',
      'spec:\n  source:\n    git: { url: "https://git.example/config.git", credential: "$TOKEN" }\n',
      /^spec\.source\.git\.credential$/,
    ],
    [
      "a sink URL in a variable of the worker's that is not a sink's",
      'onFailure:',
      'notifications:\n    sinks: [{ name: ops, type: webhook, urlFrom: { env: AWS_SECRET_ACCESS_KEY } }]\n  onFailure:',
      /^spec\.notifications\.sinks\[0\]\.urlFrom\.env$/,
    ],
    [
      "a sink URL file outside the worker's sink URL folder",
      'onFailure:',
      'notifications:\n    sinks: [{ name: ops, type: webhook, urlFrom: { file: /etc/passwd } }]\n  onFailure:',
      /^spec\.notifications\.sinks\[0\]\.urlFrom\.file$/,
    ],
  ];

  it.each(cases)('%s', (_name, from, to, path, atReplacement) => {
    const text = labWith(from, to);
    const issues = issuesOf(text);
    const hit = issues.find((i) => path.test(i.path));
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit?.message.length).toBeGreaterThan(3);
    expect(hit?.line).toBeGreaterThan(0);
    // Where the problem is on the edited line itself, the position must point at it.
    if (atReplacement) expect(hit?.line).toBe(lineOf(text, to));
  });

  it('reports a synchronizer without a cache check', () => {
    const issues = issuesOf(labWith(/ {2}cache:\n(?: {4}.*\n)+/, ''));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'spec.cache' }));
  });

  it('reports a cluster that no phase rolls', () => {
    // lab-3 is the last cluster labelled tier: wave; relabelled, the wave's selector no longer takes it.
    const issues = issuesOf(labWith(/tier: wave \}(?![\s\S]*tier: wave \})/, 'tier: spare }'));
    expect(issues).toContainEqual(
      expect.objectContaining({ path: 'spec.clusters[2]', message: expect.stringMatching(/in no phase/) }),
    );
  });

  it('reports YAML syntax errors with line and column', () => {
    const issues = issuesOf(labWith('tier: canary }', 'tier: canary, bad: [ }'));
    expect(issues[0]).toMatchObject({ path: '' });
    expect(issues[0]?.line).toBe(lineOf(lab, 'tier: canary }'));
  });

  it('lists every problem at once', () => {
    const issues = issuesOf(labWith('maxParallel: 2', 'maxParalel: 2').replace('bake: 20s', 'bake: soon'));
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['spec.phases[1].maxParalel', 'spec.phases[0].bake']),
    );
  });

  it('says what to do with a version written as a number', () => {
    const [issue] = issuesOf(labWith('version: 2.1.0', 'version: 2.1'));
    expect(issue?.message).toMatch(/quote it/);
  });
});

describe('a release of components', () => {
  const product = readFileSync(`${plansDir}express.yaml`, 'utf8');
  const productWith = (from: string | RegExp, to: string) => {
    const out = product.replace(from, to);
    expect(out, `replacement of ${String(from)} did not apply`).not.toBe(product);
    return out;
  };

  it('reads the list in order: the synchronizer before the component after it, a selector kept', () => {
    const components = componentsOf(parsePlan(product, 'express.yaml'));
    expect(components.map((c) => [c.name, !!c.afterCache, c.matchLabels])).toEqual([
      ['operator', false, undefined],
      ['express', true, undefined],
      ['farmer', false, undefined],
      ['accelerator', false, { accelerators: 'true' }],
    ]);
    expect(primaryComponent(components).name).toBe('express');
  });

  it('makes the shorthand the list operator, synchronizer, chart', () => {
    const components = componentsOf(parsePlan(lab, 'lab.yaml'));
    expect(components.map((c) => [c.name, c.release.releaseName, !!c.afterCache])).toEqual([
      ['operator', 'express-operator', false],
      ['chart', 'express', true],
    ]);
  });

  const cases: [string, string | RegExp, string, RegExp, RegExp][] = [
    ['a name used twice', 'name: farmer', 'name: express', /^spec\.release\.components\[3\]\.name$/, /duplicate/],
    [
      'the synchronizer step last',
      /( {6}- step: synchronizer\n)([\s\S]*?)( {2}synchronizer:)/,
      '$2      - step: synchronizer\n$3',
      /^spec\.release\.components\[4\]$/,
      /right before the component/,
    ],
    ['a synchronizer that never runs', '      - step: synchronizer\n', '', /^spec\.release\.components$/, /never runs/],
    [
      'an overlay naming no component',
      'overlays: { express: ../overlays/eu-west/ew1-a/values.yaml }',
      'overlays: { expres: ../overlays/eu-west/ew1-a/values.yaml }',
      /^spec\.clusters\[1\]\.overlays\.expres$/,
      /unknown component "expres"/,
    ],
    [
      "the shorthand's values with components",
      'overlays: { express: ../overlays/eu-west/ew1-a/values.yaml }',
      'values: ../overlays/eu-west/ew1-a/values.yaml',
      /^spec\.clusters\[1\]\.values$/,
      /overlays\.<component>/,
    ],
    [
      'a selector no cluster matches',
      "selector: { matchLabels: { accelerators: 'true' } }",
      "selector: { matchLabels: { accelerators: 'yes' } }",
      /^spec\.release\.components\[4\]\.selector$/,
      /selects no cluster/,
    ],
    [
      'components and the shorthand at once',
      '    components:\n',
      '    chart: { chart: x, version: 1.0.0, releaseName: x, namespace: x }\n    components:\n',
      /^spec\.release$/,
      /not both/,
    ],
  ];
  it.each(cases)('refuses %s, saying where and why', (_name, from, to, path, message) => {
    const issues = issuesOf(productWith(from, to));
    expect(issues, JSON.stringify(issues)).toContainEqual(
      expect.objectContaining({ path: expect.stringMatching(path), message: expect.stringMatching(message) }),
    );
  });
});

describe('a component deployed through Argo CD', () => {
  const argo = readFileSync(`${plansDir}lab-argocd.yaml`, 'utf8');
  const argoWith = (from: string | RegExp, to: string) => {
    const out = argo.replace(from, to);
    expect(out, `replacement of ${String(from)} did not apply`).not.toBe(argo);
    return out;
  };

  it('reads the example: the operator by Helm, express through its Application on the control cluster', () => {
    const express = componentsOf(parsePlan(argo, 'lab-argocd.yaml')).find((c) => c.name === 'express');
    expect(express?.release.driver).toBe('argocd');
    expect(express?.release.argocd).toEqual({
      context: 'kwok-argocd',
      namespace: 'argocd',
      application: '{{cluster}}-express',
      healthyGrace: '10s',
    });
  });

  const cases: [string, string | RegExp, string, RegExp, RegExp][] = [
    [
      'no control cluster',
      /\n {8}argocd:\n {10}context: kwok-argocd\n {10}application: '\{\{cluster\}\}-express'/,
      '',
      /^spec\.release\.components\[2\]$/,
      /needs argocd\.context/,
    ],
    [
      'a local chart',
      /chart: express\n {8}repository: http:\/\/127\.0\.0\.1:8879/,
      'chart: ../charts/express',
      /^spec\.release\.components\[2\]\.chart$/,
      /Argo CD fetches the chart itself/,
    ],
    [
      'a plan without a git source',
      / {2}source:\n {4}git:\n.*\n.*\n.*\n/,
      '',
      /^spec\.release\.components\[2\]$/,
      /needs spec\.source\.git/,
    ],
    [
      'argocd settings on a Helm component',
      '        driver: argocd\n',
      '',
      /^spec\.release\.components\[2\]\.argocd$/,
      /only with driver: argocd/,
    ],
  ];
  it.each(cases)('refuses %s, saying where and why', (_name, from, to, path, message) => {
    const issues = issuesOf(argoWith(from, to));
    expect(issues, JSON.stringify(issues)).toContainEqual(
      expect.objectContaining({ path: expect.stringMatching(path), message: expect.stringMatching(message) }),
    );
  });
});

describe('durations and templates', () => {
  it('parses Go-style durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('5')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });

  it('renders known variables and refuses unknown ones', () => {
    expect(renderTemplate('{{cluster}}/{{ version }}', { cluster: 'a', version: '1.0.0' })).toBe('a/1.0.0');
    expect(() => renderTemplate('{{region}}', { cluster: 'a', version: '1' })).toThrow(/unknown template variable/);
  });
});

describe('JSON Schema for editors', () => {
  it('is generated from the zod schema and up to date (npm run schema)', () => {
    const committed = readFileSync(
      fileURLToPath(new URL('../../schemas/rollout-plan.schema.json', import.meta.url)),
      'utf8',
    );
    expect(committed).toBe(planJsonSchema());
  });

  it('says what every field of the plan is for, so an editor shows it', () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      for (const [k, v] of Object.entries((n['properties'] as Record<string, unknown> | undefined) ?? {})) {
        if (!(v as { description?: string }).description) undocumented.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
      for (const key of ['items', 'anyOf', 'oneOf', 'allOf', 'additionalProperties']) {
        const sub = n[key];
        for (const x of Array.isArray(sub) ? sub : [sub]) walk(x, key === 'items' ? `${path}[]` : path);
      }
    };
    walk(JSON.parse(planJsonSchema()), '');
    expect(undocumented).toEqual([]);
  });
});

// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Imports each layer may not use: the dependency rule of the architecture, enforced. */
const pureLayer = {
  patterns: [
    {
      group: ['@temporalio/*', '@kubernetes/*', 'node:*'],
      message: 'plan and domain are pure: zod and each other only.',
    },
    {
      group: [
        '**/workflows/**',
        '**/activities/**',
        '**/adapters/**',
        '**/drivers/**',
        '**/cache-checks/**',
        '**/client/**',
        '**/worker/**',
        '**/cli/**',
        '**/tools/**',
      ],
      message: 'plan and domain do not depend on outer layers.',
    },
  ],
};

/**
 * What the activities and everything they use may not import: workflow code and the outer layers.
 * @param {...{ group: string[]; message: string }} more
 */
const activitySide = (...more) => ({
  paths: [{ name: '@temporalio/workflow', message: 'activities and what they use never import workflow code.' }],
  patterns: [
    { group: ['**/workflows/**'], message: 'activities and what they use never import workflow code.' },
    { group: ['**/cli/**', '**/worker/**', '**/tools/**'], message: 'inner layers do not import outer ones.' },
    ...more,
  ],
});
const servesActivities = {
  group: ['**/activities/*', '!**/activities/context.js', '!**/activities/contracts.js'],
  message: 'drivers, checks and adapters serve the activities (their contracts and step helpers only).',
};

export default tseslint.config(
  { ignores: ['dist/', '.tmp/', '.lab/', 'node_modules/', 'coverage/', 'schemas/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    // Resolves the `.js` specifiers of ESM TypeScript to their `.ts` sources: without it no-cycle sees no
    // import at all and checks nothing.
    // import-x must also parse the `.ts` files it follows, with TypeScript's parser.
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  { files: ['src/plan/**', 'src/domain/**'], rules: { 'no-restricted-imports': ['error', pureLayer] } },
  {
    files: ['src/workflows/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@kubernetes/client-node', message: 'workflows never talk to Kubernetes; call an activity.' },
          ],
          patterns: [
            { group: ['node:*'], message: 'workflows are deterministic: no Node I/O.' },
            {
              group: ['**/activities/*', '!**/activities/contracts.js'],
              message: 'workflows import activity types only (contracts).',
            },
            {
              group: ['**/adapters/**', '**/drivers/**', '**/cache-checks/**', '**/client/**', '**/tools/**'],
              message: 'workflows reach the outside world through activities only.',
            },
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              message: 'workflows use @temporalio/workflow.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'not deterministic; use uuid4().' },
      ],
    },
  },
  {
    // A rollout's status changes in one place: RolloutRun.apply and domain/rollout-machine.ts. The workflow
    // files that run a rollout schedule and wait; they assign to no record.
    files: [
      'src/workflows/rollout.ts',
      'src/workflows/phase-gate.ts',
      'src/workflows/phase-runner.ts',
      'src/workflows/rollback.ts',
      'src/workflows/rollout-controls.ts',
      'src/workflows/windows.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'AssignmentExpression[left.type="MemberExpression"]',
          message: "change the rollout's status with run.apply(event) (domain/rollout-machine.ts), not by assignment.",
        },
        {
          selector: 'UpdateExpression[argument.type="MemberExpression"]',
          message: "change the rollout's status with run.apply(event) (domain/rollout-machine.ts), not by assignment.",
        },
        {
          selector: 'CallExpression[callee.object.name="Object"][callee.property.name="assign"]',
          message: "change the rollout's status with run.apply(event) (domain/rollout-machine.ts), not Object.assign.",
        },
        {
          selector:
            'CallExpression[callee.property.name=/^(push|splice|pop|shift|unshift)$/][callee.object.type="MemberExpression"]',
          message:
            "change the rollout's status with run.apply(event) (domain/rollout-machine.ts), not by mutating its lists.",
        },
      ],
    },
  },
  {
    files: ['src/activities/**'],
    rules: { 'no-restricted-imports': ['error', activitySide()] },
  },
  {
    // Drivers, cache checks and the client helpers serve the activities: their contracts and step helpers
    // (context.js) only, never the activities themselves.
    files: ['src/drivers/**', 'src/cache-checks/**', 'src/client/**'],
    rules: { 'no-restricted-imports': ['error', activitySide(servesActivities)] },
  },
  {
    // Adapters (one per external system) know nothing of what is built on them.
    files: ['src/adapters/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        activitySide(servesActivities, {
          group: ['**/drivers/**', '**/cache-checks/**', '**/client/**'],
          message: 'an adapter knows nothing of the drivers, checks and helpers built on it.',
        }),
      ],
    },
  },
  {
    files: ['src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows/*', '!**/workflows/api.js'],
              message: "the CLI uses the rollout's public surface: import from workflows/api.js.",
            },
            {
              group: ['**/activities/*', '!**/activities/contracts.js', '**/drivers/**', '**/cache-checks/**'],
              message: 'the CLI runs no activity and deploys nothing itself.',
            },
            {
              // The CLI pins a plan's source with the worker's own adapter (source.js), so both read it alike,
              // with the credentials a person's machine declares as a worker does (credentials.js).
              group: [
                '**/adapters/*',
                '!**/adapters/source.js',
                '!**/adapters/errors.js',
                '!**/adapters/credentials.js',
              ],
              message: 'the CLI talks to clusters through the worker only.',
            },
            { group: ['**/tools/**', '**/worker/**'], message: 'the CLI imports no development toolchain or worker.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/worker/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/tools/**', '**/cli/**'], message: 'the worker imports no development toolchain or CLI.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);

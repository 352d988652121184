import { defineConfig } from 'vitest/config';

// Server-backed test files share one Temporal dev server (started in globalSetup) and run one at a
// time: the Temporal worker's native bridge does not work under worker threads, hence 'forks'.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});

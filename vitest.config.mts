import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // No servers: what a contributor runs while editing (`npm run test:unit`), in seconds.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          // One real Temporal dev server and one real PostgreSQL for the whole run.
          globalSetup: ['test/support/global-setup.ts'],
          // Integration tests share them on a 2-core machine: one file at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});

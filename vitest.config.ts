// vitest: unit and integration tests run in files in parallel; e2e files boot containers and VMs.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 600_000,
    pool: 'forks',
    reporters: ['default'],
  },
});

// vitest config for the benchmarks: one file, run serially, long timeouts (npm run bench).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/**/*.bench.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});

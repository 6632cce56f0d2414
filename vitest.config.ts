import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Cluster tests share one control plane started by the global setup; each file uses its own namespace.
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (engine, constructs, synth; no network), `cluster` (files named
 * `*.cluster.test.ts`, run against the real control plane that `test/cluster/global-setup.ts` starts)
 * and `package` (`*.package.test.ts`: the packed tarball in stock cdk8s apps; needs the npm registry
 * once, then its caches).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.cluster.test.ts', 'test/**/*.package.test.ts'],
          // Property tests run thousands of cases: on a busy 2-core machine they outgrow the 5 s default.
          testTimeout: 30_000,
          // ... from a fixed seed (FC_SEED to explore): the suite never depends on the draw.
          setupFiles: ['test/fast-check-seed.ts'],
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/**/*.cluster.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One shared control plane; files run one at a time so timings stay meaningful on 2 cores.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'package',
          include: ['test/**/*.package.test.ts'],
          globalSetup: ['test/package/global-setup.ts'],
          hookTimeout: 300_000,
        },
      },
    ],
  },
});

import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { JobConfig, Materialization, Option, Parallelism, Schedule, TaskTemplate } from '../../constructs/index.js';

/**
 * Search index shards rebuilt from a dataset snapshot, one task per region, with task caching (Flyte's
 * memoization): a shard already built from the same snapshot and image within six hours is not built
 * again; its result is copied into the run (reason Cached). The hourly schedule therefore rebuilds at
 * most every six hours, an ad-hoc run of a snapshot already built finishes at once, and
 * `taskplane run search-index --no-cache` (or `skipCache: true`) forces a rebuild.
 */
export function searchIndex(scope: Construct): void {
  const index = new JobConfig(scope, 'search-index', {
    options: { snapshot: Option.string({ default: 'current' }) },
    parallelism: Parallelism.withKeys(['eu', 'us', 'apac']),
    schedule: Schedule.cron('H * * * *'),
    // Bump the version when the same snapshot must give another index (a new analyzer, a fixed bug).
    cache: { version: '3', maxAge: Duration.hours(6), maxEntries: 50 },
    task: TaskTemplate.pod({
      spec: {
        containers: [{
          name: 'build',
          image: 'registry.example.com/search/indexer:5.1.0',
          // ${job.name} names the run, not the work: it is not part of the cache key.
          args: ['--snapshot=${option.snapshot}', '--region=${task.index_key}', '--report=/results/${job.name}.json'],
        }],
      },
    }),
  });

  // Caching runs are Deferred: the watcher creates their tasks, so it can answer them from the cache.
  index.run('snapshot-2026-11-20', { materialization: Materialization.DEFERRED, options: { snapshot: '2026-11-20' } });
}

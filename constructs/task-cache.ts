import type { Duration } from 'cdk8s';
import type { CacheSpec } from '../engine/schema/template.js';

/**
 * Task caching (Flyte's memoization): a task the watcher is about to create whose key matches a task
 * of the same JobConfig that succeeded within `maxAge` is not created; its index is Succeeded with
 * reason `Cached` and the earlier result. For tasks the watcher creates only: Deferred runs, scheduled
 * runs and retries (a Rendered run's first attempts are applied by GitOps whatever the cache says).
 */
export interface TaskCacheProps {
  /**
   * Part of every key: change it when the same inputs must no longer give the same result (a new
   * algorithm, a fixed bug). Entries of other versions are never used and age out.
   */
  readonly version: string;
  /**
   * What identifies a task's work, with `${...}` variables, e.g. `'${option.database}/${option.day}'`:
   * tasks with the same key share a result even if other parts of their template differ.
   * @default - the whole rendered task except what names one run or attempt (its name, `${job.name}`,
   * `${task.name}`, `${task.retry_index}`, `${job.type}`, the UIDs, taskplane's labels and annotations)
   */
  readonly key?: string;
  /** A cached result older than this is not used (Argo Workflows' memoize `maxAge`). */
  readonly maxAge: Duration;
  /**
   * Entries kept for this JobConfig (one TaskCacheEntry object each); past it the oldest are evicted.
   * @default 100 - a few hundred KiB in etcd at most, since results are capped at 4 KiB
   */
  readonly maxEntries?: number;
}

/** The template's `cache` field. @internal */
export function _cacheSpec(props: TaskCacheProps): CacheSpec {
  return {
    version: props.version,
    ...(props.key !== undefined && { key: props.key }),
    maxAgeSeconds: props.maxAge.toSeconds(),
    ...(props.maxEntries !== undefined && { maxEntries: props.maxEntries }),
  };
}

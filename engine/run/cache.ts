/**
 * The planner's half of task caching (engine/cache/): a task about to be created whose key has a fresh
 * entry is not created but recorded as finished, `Succeeded` with reason `Cached` and the entry's
 * result; a success of a task the watcher created becomes an entry for later runs.
 */
import { findCached, isFresh, taskCacheKey } from '../cache/index.js';
import { canonicalIndexJson, type ParallelIndex } from '../indexes.js';
import type { TaskCacheEntrySpec } from '../schema/cache-entry.js';
import type { JobRunObject, TaskRef } from '../schema/resources.js';
import { compact } from './compact.js';
import type { TaskKind } from './task-refs.js';
import { formatTime, type Millis } from './time.js';

export const CACHED = 'Cached';

/** The entry to use for an index about to get a task, if any. */
export type CacheLookup = (index: ParallelIndex) => TaskCacheEntrySpec | undefined;

/** Lookups for a run whose JobConfig's entries were read; none when the run skips the cache. */
export function cacheLookup(run: JobRunObject, entries: readonly TaskCacheEntrySpec[] | undefined, now: Millis): CacheLookup | undefined {
  const cache = run.spec.template.cache;
  if (!cache || !entries || run.spec.skipCache) return undefined;
  return (index) => {
    const { key } = taskCacheKey(run, index);
    return key && findCached(entries, key.key, cache, now);
  };
}

/** The record of a task that was not created because `entry` answers for it. */
export function cachedRef(name: string, index: ParallelIndex, retryIndex: number, kind: TaskKind, now: Millis, entry: TaskCacheEntrySpec): TaskRef {
  const at = formatTime(now);
  return compact<TaskRef>({
    name,
    ...kind,
    parallelIndex: JSON.parse(canonicalIndexJson(index)) as Record<string, unknown>,
    retryIndex,
    creationTimestamp: at,
    finishTimestamp: at,
    status: { state: 'Terminated', result: 'Succeeded', reason: CACHED, message: `Result of ${entry.task} (run ${entry.run}, finished ${entry.finishTimestamp}) reused; nothing was created` },
    taskResult: entry.result,
  });
}

/**
 * Entries for the tasks that succeeded in this plan (not in `finishedBefore`), when the watcher created
 * them: a Rendered run's first attempt is whatever GitOps applied, not necessarily the template's
 * render, so it never answers for the key. A result the status could not keep is not recorded either,
 * nor one already past maxAge.
 */
export function cacheRecords(run: JobRunObject, refs: readonly TaskRef[], finishedBefore: ReadonlySet<string>, now: Millis): TaskCacheEntrySpec[] {
  const cache = run.spec.template.cache;
  if (!cache) return [];
  const deferred = run.spec.materialization === 'Deferred';
  const records: TaskCacheEntrySpec[] = [];
  for (const ref of refs) {
    if (!ref.finishTimestamp || finishedBefore.has(ref.name) || ref.status.result !== 'Succeeded' || ref.status.reason === CACHED) continue;
    // An entry already past maxAge (a watcher that was down longer) would only be evicted again.
    if ((!deferred && ref.retryIndex === 0) || ref.resultOmitted || !isFresh({ finishTimestamp: ref.finishTimestamp }, cache, now)) continue;
    const { key } = taskCacheKey(run, ref.parallelIndex as ParallelIndex);
    if (!key) continue;
    records.push(compact<TaskCacheEntrySpec>({
      configName: run.spec.configName,
      key: key.key,
      version: key.version,
      index: ref.parallelIndex,
      run: run.metadata.name,
      task: ref.name,
      finishTimestamp: ref.finishTimestamp,
      result: ref.taskResult,
    }));
  }
  return records;
}

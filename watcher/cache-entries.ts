/**
 * The watcher's side of task caching: reading a JobConfig's TaskCacheEntries when a run is about to
 * create tasks, writing an entry for each success the plan records (before the status that records
 * it), and evicting what the engine says (engine/cache/entries.ts). Entries are read with a LIST by
 * label, not an informer: a run that follows another one moments later must see its entry, and only
 * reconciles that create tasks read.
 */
import type { Logger } from 'pino';
import { cacheEntryName, cacheEntryObject, cacheEntrySelector, entriesOf, entriesToEvict } from '../engine/cache/index.js';
import type { TaskCacheEntryObject, TaskCacheEntrySpec } from '../engine/schema/cache-entry.js';
import { GROUP_VERSION, type JobConfigObject } from '../engine/schema/resources.js';
import type { CacheSpec } from '../engine/schema/template.js';
import { isNotFound, isRefused, type KubeClient, type KubeObject } from './kube/client.js';
import type { WatcherMetrics } from './metrics.js';

type EntryObject = TaskCacheEntryObject & KubeObject;
type Config = Pick<JobConfigObject, 'metadata'>;

export class CacheEntries {
  constructor(
    private readonly client: KubeClient,
    private readonly metrics: WatcherMetrics,
    private readonly logger: Logger,
  ) {}

  /** The entries a run of `config` may use (its own, owned by this config object). */
  async read(config: Config): Promise<TaskCacheEntrySpec[]> {
    return entriesOf(config, await this.list(config));
  }

  /**
   * Writes one entry per record (server-side apply: a newer success of the same key replaces the older
   * one). Called before the status that records the successes is written: a write that fails fails the
   * reconcile, and the next plan, still seeing the successes as new, records them again. At least once,
   * never lost to a reset connection between the status and the entry. An entry the API server refuses
   * (forbidden, invalid) is returned, not thrown: caching saves work, it must never hold a run up.
   */
  async write(config: Config, records: readonly TaskCacheEntrySpec[], signal: AbortSignal): Promise<{ readonly task: string; readonly error: string }[]> {
    const refused = [];
    for (const spec of records) {
      signal.throwIfAborted();
      try {
        await this.client.apply(cacheEntryObject(config, spec) as unknown as KubeObject, undefined, { signal });
      } catch (error) {
        if (!isRefused(error)) throw error;
        this.logger.warn({ config: config.metadata.name, namespace: config.metadata.namespace, task: spec.task, err: (error as Error).message }, 'cache entry refused');
        refused.push({ task: spec.task, error: (error as Error).message });
        continue;
      }
      this.metrics.cacheEntriesWritten.inc();
      this.logger.info({ config: config.metadata.name, namespace: config.metadata.namespace, task: spec.task, key: spec.key }, 'recorded cache entry');
    }
    return refused;
  }

  /**
   * Deletes what the engine says is expired or over maxEntries (keeping the entries just `written`
   * over others of the same second). Best effort after the status write: eviction reads every entry,
   * so the next one catches up on any left behind.
   */
  async evict(config: Config, cache: CacheSpec, written: readonly TaskCacheEntrySpec[], now: Date, signal: AbortSignal): Promise<void> {
    const listed = await this.list(config);
    const writtenNames = new Set(written.map((spec) => cacheEntryName(config.metadata.name, spec.key)));
    // Every entry labelled with the config counts, ours or not: a stale one is still one too many.
    for (const eviction of entriesToEvict(listed.map((e) => ({ name: e.metadata.name, spec: e.spec })), cache, now.getTime(), writtenNames)) {
      signal.throwIfAborted();
      const target = { apiVersion: GROUP_VERSION, kind: 'TaskCacheEntry', metadata: { name: eviction.name, namespace: config.metadata.namespace } };
      await this.client.delete(target, undefined, signal).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      this.metrics.cacheEvictions.inc({ reason: eviction.reason });
    }
  }

  private async list(config: Config): Promise<EntryObject[]> {
    const { items } = await this.client.list<EntryObject>(GROUP_VERSION, 'TaskCacheEntry', { labelSelector: cacheEntrySelector(config.metadata.name) }, config.metadata.namespace);
    return items;
  }
}

/**
 * The watcher's side of task caching: reading a JobConfig's TaskCacheEntries when a run is about to
 * create tasks, writing an entry for each success the plan records, and evicting what the engine says
 * (engine/cache/entries.ts). Entries are read with a LIST by label, not an informer: a run that
 * follows another one moments later must see its entry, and only reconciles that create tasks read.
 */
import type { Logger } from 'pino';
import { cacheEntryObject, cacheEntrySelector, entriesOf, entriesToEvict } from '../engine/cache/index.js';
import type { TaskCacheEntryObject, TaskCacheEntrySpec } from '../engine/schema/cache-entry.js';
import { GROUP_VERSION, type JobConfigObject } from '../engine/schema/resources.js';
import type { CacheSpec } from '../engine/schema/template.js';
import { isNotFound, type KubeClient, type KubeObject } from './kube/client.js';
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
   * one), then evicts. Best effort after the status write: an entry lost to a crash costs one later
   * miss, never a wrong result.
   */
  async record(config: Config, cache: CacheSpec, records: readonly TaskCacheEntrySpec[], now: Date, signal: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    for (const spec of records) {
      signal.throwIfAborted();
      await this.client.apply(cacheEntryObject(config, spec) as unknown as KubeObject, undefined, { signal });
      this.metrics.cacheEntriesWritten.inc();
      this.logger.info({ config: config.metadata.name, namespace: config.metadata.namespace, task: spec.task, key: spec.key }, 'recorded cache entry');
    }
    const listed = await this.list(config);
    // Eviction reads every entry labelled with the config, ours or not: a stale one is still one too many.
    for (const eviction of entriesToEvict(listed.map((e) => ({ name: e.metadata.name, spec: e.spec })), cache, now.getTime())) {
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

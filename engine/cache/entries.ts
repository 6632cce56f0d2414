/**
 * Where cache entries live and when they go: one TaskCacheEntry per key, named from the JobConfig and
 * the key, labelled with the config and owned by it (Kubernetes' garbage collector removes them with
 * it). Which entry a lookup may use, and which entries a JobConfig sheds to stay within `maxEntries`.
 * Pure: the watcher lists, creates and deletes what these functions decide.
 */
import { LABEL_CONFIG } from '../labels.js';
import type { TaskCacheEntryObject, TaskCacheEntrySpec } from '../schema/cache-entry.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../schema/resources.js';
import { templateHash } from '../run/template-hash.js';
import { DEFAULT_CACHE_MAX_ENTRIES, type CacheSpec } from '../schema/template.js';
import { parseTime, seconds, type Millis } from '../run/time.js';

/** Hex digits of the key in an entry's name: 64 bits, so two keys of one JobConfig never share a name in practice. */
const NAME_KEY_DIGITS = 16;

/** `<config>-<16 hex digits of the key>`: readable with kubectl, at most 80 characters (config names are DNS labels). */
export function cacheEntryName(configName: string, key: string): string {
  return `${configName}-${key.slice(0, NAME_KEY_DIGITS)}`;
}

/**
 * Whether a run reads and writes its JobConfig's cache: the config has `cache` and the run carries the
 * config's template exactly. A run with a template of its own (`allowCustomTemplates`) or one that
 * started before the config changed neither reads nor writes: its author could otherwise put any task
 * under the config's keys (a configured `key` need not cover the whole task).
 */
export function cacheApplies(run: Pick<JobRunObject, 'spec'>, config: Pick<JobConfigObject, 'metadata' | 'spec'> | undefined): boolean {
  return Boolean(config?.spec.template.cache && config.metadata.uid && templateHash(run.spec.template) === templateHash(config.spec.template));
}

/** The label selector of a JobConfig's entries. */
export function cacheEntrySelector(configName: string): string {
  return `${LABEL_CONFIG}=${configName}`;
}

/**
 * The entries a run of `config` may read: labelled with it, naming it, and owned by this very object
 * (uid), so neither a JobConfig deleted and re-created under the same name nor an object anyone else
 * made up can answer for it. Only the watcher may write entries (docs/security.md); this is the second
 * lock.
 */
export function entriesOf(config: Pick<JobConfigObject, 'metadata'>, listed: readonly TaskCacheEntryObject[]): TaskCacheEntrySpec[] {
  const { name, uid } = config.metadata;
  return listed
    .filter((entry) => entry.spec.configName === name && entry.metadata.ownerReferences?.some((owner) => owner.kind === 'JobConfig' && owner.uid === uid))
    .map((entry) => entry.spec);
}

/** Still usable: finished less than maxAgeSeconds before `now` (a finish after `now` is as fresh as can be). */
export function isFresh(entry: Pick<TaskCacheEntrySpec, 'finishTimestamp'>, cache: Pick<CacheSpec, 'maxAgeSeconds'>, now: Millis): boolean {
  return now - parseTime(entry.finishTimestamp) < seconds(cache.maxAgeSeconds);
}

/** The newest fresh entry with this key, if any. */
export function findCached(entries: readonly TaskCacheEntrySpec[], key: string, cache: CacheSpec, now: Millis): TaskCacheEntrySpec | undefined {
  let best: TaskCacheEntrySpec | undefined;
  for (const entry of entries) {
    if (entry.key !== key || !isFresh(entry, cache, now)) continue;
    if (!best || parseTime(entry.finishTimestamp) > parseTime(best.finishTimestamp)) best = entry;
  }
  return best;
}

export interface Eviction {
  readonly name: string;
  readonly reason: 'Expired' | 'OverLimit';
}

/**
 * What a JobConfig sheds after an entry was written: every entry past maxAgeSeconds (it would never be
 * used again), then the oldest finished beyond maxEntries. The count stays at most maxEntries, plus the
 * entries written by reconciles still running at the same time (one per worker). Finish times are
 * whole seconds: among entries finished in the same second, those just `written` count as the newest
 * (what was learned last), then names decide.
 */
export function entriesToEvict(entries: readonly { readonly name: string; readonly spec: TaskCacheEntrySpec }[], cache: CacheSpec, now: Millis, written: ReadonlySet<string> = new Set()): Eviction[] {
  const evictions: Eviction[] = [];
  const fresh = [];
  for (const entry of entries) {
    if (isFresh(entry.spec, cache, now)) fresh.push(entry);
    else evictions.push({ name: entry.name, reason: 'Expired' });
  }
  const justWritten = (entry: { readonly name: string }) => (written.has(entry.name) ? 0 : 1);
  const newestFirst = fresh.sort((a, b) => parseTime(b.spec.finishTimestamp) - parseTime(a.spec.finishTimestamp) || justWritten(a) - justWritten(b) || (a.name < b.name ? -1 : 1));
  for (const entry of newestFirst.slice(cache.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES)) evictions.push({ name: entry.name, reason: 'OverLimit' });
  return evictions;
}

/** The object the watcher writes for `spec`, owned by its JobConfig (not blocking its deletion). */
export function cacheEntryObject(config: Pick<JobConfigObject, 'metadata'>, spec: TaskCacheEntrySpec): TaskCacheEntryObject & { metadata: { namespace?: string } } {
  const { name, namespace, uid } = config.metadata;
  if (!uid) throw new Error(`JobConfig ${name} has no uid: cache entries are written for configs in the cluster only`);
  return {
    apiVersion: GROUP_VERSION,
    kind: 'TaskCacheEntry',
    metadata: {
      name: cacheEntryName(name, spec.key),
      ...(namespace && { namespace }),
      labels: { [LABEL_CONFIG]: name },
      ownerReferences: [{ apiVersion: GROUP_VERSION, kind: 'JobConfig', name, uid }],
    },
    spec,
  };
}

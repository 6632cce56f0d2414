export { cacheKeyErrors, taskCacheKey, CACHE_KEY_FORMAT, type CacheKey } from './key.js';
export { cacheApplies, cacheEntryName, cacheEntryObject, cacheEntrySelector, entriesOf, entriesToEvict, findCached, isFresh, type Eviction } from './entries.js';

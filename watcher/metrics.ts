/** Prometheus metrics of the watcher (prom-client), on their own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'taskplane_watcher_' });
  return {
    registry,
    reconciles: new Counter({ name: 'taskplane_reconciles_total', help: 'Reconciles of a JobRun, by outcome.', labelNames: ['outcome'], registers: [registry] }),
    reconcileSeconds: new Histogram({
      name: 'taskplane_reconcile_duration_seconds',
      help: 'Time to reconcile one JobRun.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'taskplane_queue_depth', help: 'JobRuns waiting to be reconciled.', registers: [registry] }),
    taskTransitions: new Counter({ name: 'taskplane_task_transitions_total', help: 'Task state changes seen, by new state and result.', labelNames: ['state', 'result'], registers: [registry] }),
    tasksCreated: new Counter({ name: 'taskplane_tasks_created_total', help: 'Task objects created by the watcher, by kind (retries: retry="true").', labelNames: ['kind', 'retry'], registers: [registry] }),
    taskObjectsRead: new Counter({ name: 'taskplane_task_objects_read_total', help: 'Task objects reconciles read from the cache: each reads only its own run\'s.', registers: [registry] }),
    kills: new Counter({ name: 'taskplane_task_kills_total', help: 'Tasks stopped in place, by reason.', labelNames: ['reason'], registers: [registry] }),
    apiRequests: new Counter({ name: 'taskplane_api_requests_total', help: 'Requests to the Kubernetes API, by verb, resource and status code.', labelNames: ['verb', 'resource', 'code'], registers: [registry] }),
    cacheLookups: new Counter({ name: 'taskplane_cache_lookups_total', help: 'Tasks of caching runs about to be created, by result: hit (answered from a cache entry, not created) or miss.', labelNames: ['result'], registers: [registry] }),
    cacheEntriesWritten: new Counter({ name: 'taskplane_cache_entries_written_total', help: 'TaskCacheEntries written for successful tasks.', registers: [registry] }),
    cacheEvictions: new Counter({ name: 'taskplane_cache_evictions_total', help: 'TaskCacheEntries deleted, by reason: Expired (past maxAge) or OverLimit (beyond maxEntries).', labelNames: ['reason'], registers: [registry] }),
    isLeader: new Gauge({ name: 'taskplane_leader', help: '1 while this replica holds the leader lease (with shards: at least one shard).', registers: [registry] }),
    shardsHeld: new Gauge({ name: 'taskplane_shards_held', help: 'Shards whose Lease this replica holds and acts on (1 for the leader when there is one shard).', registers: [registry] }),
    shardTransitions: new Counter({ name: 'taskplane_shard_transitions_total', help: 'Shards gained or lost by this replica, by shard and change.', labelNames: ['shard', 'change'], registers: [registry] }),
    shardReconciles: new Counter({ name: 'taskplane_shard_reconciles_total', help: 'Reconciles of runs and configs, by the shard they belong to.', labelNames: ['shard'], registers: [registry] }),
  };
}

export type WatcherMetrics = ReturnType<typeof createMetrics>;

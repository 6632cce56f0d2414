/**
 * A reflector (client-go's name): keeps a local cache of one kind in sync with the API server by
 * list, then watch from the list's resourceVersion. It survives what client-node's own informer
 * does not: watches closed by the server (re-watch from the last resourceVersion), 410 Gone
 * (re-list and diff the cache), network errors and API server restarts (retry with backoff), and a
 * watch that silently stops delivering (a staleness timer restarts it).
 */
import { EventEmitter } from 'node:events';
import { Watch } from '@kubernetes/client-node';
import { ApiError, type KubeClient, type KubeObject } from './client.js';

export interface ReflectorOptions {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Server-side watch timeout; the server ends the watch cleanly and we continue from the last resourceVersion. */
  readonly watchTimeoutSeconds?: number;
  /** Restart a watch that delivered nothing, not even a bookmark, for this long. */
  readonly staleAfterMs?: number;
  /**
   * client-go's indexer: the key of the bucket an object belongs to (undefined: none), so that
   * `byIndex` hands out one bucket instead of a scan of the whole cache.
   */
  readonly indexBy?: (object: KubeObject) => string | undefined;
  /** client-go's transform: what the cache keeps of each object (e.g. without managedFields). */
  readonly transform?: <O extends KubeObject>(object: O) => O;
}

export type ReflectorEvent = 'add' | 'update' | 'delete';

export interface ReflectorEvents<T> {
  add: [object: T];
  update: [object: T, previous: T];
  delete: [object: T];
  /** A page of a list went into the cache: a long list is making progress. */
  page: [objects: number];
  /** A list (initial or after 410 Gone) completed. */
  synced: [];
  /** An error was handled by retrying; for logs and metrics. */
  retry: [error: Error, delayMs: number];
}

const key = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Reflector<T extends KubeObject> extends EventEmitter<ReflectorEvents<T>> {
  private readonly store = new Map<string, T>();
  /** indexBy's key → the objects in that bucket, by store key. */
  private readonly buckets = new Map<string, Map<string, T>>();
  private running = false;
  private hasSynced = false;
  private backingOff = false;
  /** Ends the current watch, or the current backoff wait, from our side. */
  private interrupt?: () => void;
  private loop?: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    readonly options: ReflectorOptions,
  ) {
    super();
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** The objects whose `indexBy` key is `value` (none without an indexBy). */
  byIndex(value: string): T[] {
    return [...(this.buckets.get(value)?.values() ?? [])];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.interrupt?.();
    await this.loop;
  }

  /** True while waiting to retry after an error: the cache may be stale. */
  get failing(): boolean {
    return this.backingOff;
  }

  /** Ends a backoff wait at once (the API server is back); a running watch is left alone. */
  retryNow(): void {
    if (this.backingOff) this.interrupt?.();
  }

  /** Resolves once the first list has been loaded. */
  waitForSync(): Promise<void> {
    return this.hasSynced ? Promise.resolve() : new Promise((resolve) => this.once('synced', () => resolve()));
  }

  private async run(): Promise<void> {
    let backoffMs = 500;
    while (this.running) {
      try {
        let resourceVersion = await this.relist();
        backoffMs = 500;
        while (this.running) resourceVersion = await this.watchOnce(resourceVersion);
      } catch (error) {
        if (!this.running) return;
        if (error instanceof ApiError && error.status === 410) continue; // Gone: list again at once.
        this.emit('retry', error as Error, backoffMs);
        // stop() and retryNow() must not wait out a backoff (up to 30 s after a long outage).
        this.backingOff = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffMs);
          this.interrupt = () => (clearTimeout(timer), resolve());
        });
        this.backingOff = false;
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  /**
   * Lists everything (in pages) and replaces the cache, emitting the differences. Each page goes into
   * the cache (transformed) as it arrives: holding every page's whole objects until the last one came
   * was the peak of a watcher's memory at start-up.
   */
  private async relist(): Promise<string> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.list<T>(
        this.options.apiVersion,
        this.options.kind,
        { labelSelector: this.options.labelSelector, limit: 500, continue: continueToken },
        this.options.namespace,
      );
      for (const item of page.items) {
        seen.add(key(item));
        this.upsert(item);
      }
      this.emit('page', page.items.length);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    for (const [k, old] of this.store) {
      if (!seen.has(k)) {
        this.remove(k);
        this.emit('delete', old);
      }
    }
    this.hasSynced = true;
    this.emit('synced');
    return resourceVersion;
  }

  private upsert(received: T): void {
    const object = this.options.transform ? this.options.transform(received) : received;
    const previous = this.store.get(key(object));
    if (previous?.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.put(key(object), object, previous);
    if (previous) this.emit('update', object, previous);
    else this.emit('add', object);
  }

  /** Every change of the store goes through put and remove, so the buckets always match it. */
  private put(k: string, object: T, previous: T | undefined): void {
    if (previous) this.unbucket(k, previous);
    this.store.set(k, object);
    const bucket = this.options.indexBy?.(object);
    if (bucket === undefined) return;
    const members = this.buckets.get(bucket) ?? new Map<string, T>();
    members.set(k, object);
    this.buckets.set(bucket, members);
  }

  private remove(k: string): void {
    const object = this.store.get(k);
    if (!object) return;
    this.store.delete(k);
    this.unbucket(k, object);
  }

  private unbucket(k: string, object: T): void {
    const bucket = this.options.indexBy?.(object);
    if (bucket === undefined) return;
    const members = this.buckets.get(bucket);
    members?.delete(k);
    if (members?.size === 0) this.buckets.delete(bucket);
  }

  /** One watch from `resourceVersion`; resolves with the last resourceVersion seen when it ends. */
  private async watchOnce(resourceVersion: string): Promise<string> {
    const path = await this.client.path(this.options.apiVersion, this.options.kind, this.options.namespace);
    if (!this.running) return resourceVersion; // stopped meanwhile: open nothing stop() could not end
    const timeoutSeconds = this.options.watchTimeoutSeconds ?? 25;
    const staleAfterMs = this.options.staleAfterMs ?? (timeoutSeconds + 15) * 1000;
    let latest = resourceVersion;
    let gone = false;
    let stale: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      // Watch hands out its AbortController only once the response headers arrived, so a request
      // that hangs before them (a half-dead connection) could not be aborted through it: a cancelled
      // watch ends here at once, and is aborted whenever its controller shows up.
      let controller: AbortController | undefined;
      let cancelled = false;
      const cancel = () => {
        cancelled = true;
        controller?.abort();
        resolve();
      };
      this.interrupt = cancel;
      const armStaleness = () => {
        clearTimeout(stale);
        stale = setTimeout(cancel, staleAfterMs);
      };
      armStaleness();
      new Watch(this.client.config)
        .watch(
          path,
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector: this.options.labelSelector },
          (type, object: T) => {
            // A cancelled watch must not touch the cache: a newer watch may already have moved it on.
            if (cancelled) return;
            armStaleness();
            if (type === 'ERROR') {
              const status = object as unknown as { code?: number };
              if (status.code === 410) gone = true;
              return;
            }
            latest = object.metadata?.resourceVersion ?? latest;
            if (type === 'BOOKMARK') return;
            const typed = { ...object, apiVersion: this.options.apiVersion, kind: this.options.kind };
            if (type === 'DELETED') {
              this.remove(key(typed));
              this.emit('delete', typed);
            } else this.upsert(typed);
          },
          (error) => (error && !(error instanceof Error && error.name === 'AbortError') ? reject(error) : resolve()),
        )
        .then((c) => {
          controller = c;
          if (cancelled) c.abort();
        }, reject);
    });
    try {
      await ended;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 410) gone = true;
      else throw error;
    } finally {
      clearTimeout(stale);
    }
    if (gone) throw new ApiError(410, 'Gone', 'watch resourceVersion expired');
    return latest;
  }
}

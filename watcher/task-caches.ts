/**
 * One cache (reflector) per kind of task object, started by the first run that uses the kind. A
 * reconcile waits for a kind's first sync as long as the list makes progress, and at most
 * `syncTimeoutMs` without a page: a kind that does not exist, that the watcher may not list, or that
 * cannot be listed at all must fail the runs that need it (they report why and retry), never hold a
 * worker for good.
 */
import { LABEL_RUN } from '../engine/labels.js';
import { runBucket, taskRunBucket } from './cache-indexes.js';
import { cachedTask } from './cached-task.js';
import { ApiError, type KubeClient, type KubeObject } from './kube/client.js';
import { Reflector } from './kube/reflector.js';
import type { TaskKind } from './tasks.js';

/** Why a kind's objects cannot be read now; `status` is the API server's answer (0: none yet). */
export class TaskCacheUnavailable extends Error {
  constructor(
    readonly kind: TaskKind,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TaskCacheUnavailable';
  }
}

interface Entry {
  readonly reflector: Reflector<KubeObject>;
  lastError?: Error;
}

export interface TaskCacheOptions {
  readonly namespace?: string;
  /** Without a list page for this long, a reconcile stops waiting for the kind's first sync. @default 5000 - long enough for a page, short enough that other runs go on */
  readonly syncTimeoutMs?: number;
  /** Called with a task object's run (namespace, name) on any change of it. */
  readonly onChange: (namespace: string | undefined, run: string) => void;
  readonly onRetry: (kind: string, error: Error, delayMs: number) => void;
}

export class TaskCaches {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly client: KubeClient,
    private readonly options: TaskCacheOptions,
  ) {}

  /**
   * The cached objects of a kind that belong to one run (its label), once synced: a bucket, not a
   * scan, so a reconcile costs what its run has. Throws TaskCacheUnavailable when the kind's list
   * fails or does not finish within the timeout.
   */
  async objects(kind: TaskKind, run: { readonly namespace?: string; readonly name: string }, signal?: AbortSignal): Promise<KubeObject[]> {
    const entry = this.entry(kind);
    // A kind that already failed fails at once: its runs must not hold a worker for the timeout each time.
    if (!entry.reflector.synced && entry.lastError) throw this.unavailable(kind, entry, 0);
    if (!entry.reflector.synced) {
      const timeoutMs = this.options.syncTimeoutMs ?? 5000;
      let timer: NodeJS.Timeout | undefined;
      let stopWaiting = () => {};
      // The time limit is on silence, not on the list: a list of 100,000 objects takes longer than
      // the limit, and its runs must wait for it, not fail and retry (each writing a ReconcileError).
      const progressed = () => {
        clearTimeout(timer);
        timer = setTimeout(stopWaiting, timeoutMs);
      };
      const given = new Promise<'timeout'>((resolve) => {
        stopWaiting = () => resolve('timeout');
        progressed();
        signal?.addEventListener('abort', stopWaiting, { once: true });
        // The first failed list ends the wait too: its error is the answer.
        entry.reflector.once('retry', stopWaiting);
        entry.reflector.on('page', progressed);
      });
      const outcome = await Promise.race([entry.reflector.waitForSync().then(() => 'synced' as const), given]);
      clearTimeout(timer);
      signal?.removeEventListener('abort', stopWaiting);
      entry.reflector.off('retry', stopWaiting);
      entry.reflector.off('page', progressed);
      signal?.throwIfAborted();
      if (outcome === 'timeout') throw this.unavailable(kind, entry, timeoutMs);
    }
    return entry.reflector.byIndex(runBucket(run.namespace, run.name));
  }

  /** The cache of a kind, started if it was not: for a component that follows every object of the kind. */
  reflector(kind: TaskKind): Reflector<KubeObject> {
    return this.entry(kind).reflector;
  }

  /** Kinds whose cache is not synced, with the last error: for readiness. */
  failing(): string[] {
    return [...this.entries].filter(([, e]) => !e.reflector.synced && e.lastError).map(([id, e]) => `${id}: ${e.lastError!.message}`);
  }

  /** Ends every cache's backoff wait (the API server is back). */
  retryNow(): void {
    for (const entry of this.entries.values()) entry.reflector.retryNow();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.reflector.stop()));
  }

  private entry(kind: TaskKind): Entry {
    const id = `${kind.apiVersion}/${kind.kind}`;
    let entry = this.entries.get(id);
    if (entry) return entry;
    const reflector = new Reflector<KubeObject>(this.client, { ...kind, namespace: this.options.namespace, labelSelector: LABEL_RUN, indexBy: taskRunBucket, transform: cachedTask(kind.apiVersion, kind.kind) });
    entry = { reflector };
    const current = entry;
    reflector.on('retry', (error, delayMs) => {
      current.lastError = error;
      this.options.onRetry(kind.kind, error, delayMs);
    });
    reflector.on('synced', () => (current.lastError = undefined));
    const changed = (object: KubeObject) => {
      const run = object.metadata.labels?.[LABEL_RUN];
      if (run) this.options.onChange(object.metadata.namespace, run);
    };
    reflector.on('add', changed);
    reflector.on('update', changed);
    reflector.on('delete', changed);
    reflector.start();
    this.entries.set(id, entry);
    return entry;
  }

  private unavailable(kind: TaskKind, entry: Entry, timeoutMs: number): TaskCacheUnavailable {
    const error = entry.lastError;
    const status = error instanceof ApiError ? error.status : 0;
    const cause = error ? error.message : `no answer within ${timeoutMs / 1000}s`;
    return new TaskCacheUnavailable(kind, status, `cannot list and watch ${kind.kind} (${kind.apiVersion}) objects: ${cause}`);
  }
}

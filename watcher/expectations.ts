/**
 * Read-your-writes for the watcher's own status writes (controller-runtime's expectations, for one
 * object): after a write, the run cache may still hold the version the write replaced. Planning on
 * it would see the world before our own decision (a task we recorded as Succeeded, whose object
 * has since been deleted, would look lost and be retried). Until the cache catches up, the object
 * the write returned is the run to plan on.
 *
 * This is an optimization over the real guard: every status write carries the resourceVersion it
 * was planned on, so a plan made on any stale copy fails with 409 before it acts.
 */
import type { KubeObject } from './kube/client.js';

interface Written<T> {
  /** The resourceVersion the write replaced (what a stale cache still holds). */
  readonly replaced: string;
  readonly object: T;
}

export class WriteExpectations<T extends KubeObject> {
  private readonly written = new Map<string, Written<T>>();

  /** Records that `object` (as the API server returned it) replaced version `replaced` of `key`. */
  wrote(key: string, replaced: string | undefined, object: T): void {
    if (replaced) this.written.set(key, { replaced, object });
  }

  /**
   * The freshest known copy of `key`: the cached object, unless it is still the version our last
   * write replaced. Once the cache moves on (to our write or anyone's later one) the entry is dropped.
   */
  fresher(key: string, cached: T | undefined): T | undefined {
    const entry = this.written.get(key);
    if (!entry) return cached;
    if (cached && cached.metadata.resourceVersion === entry.replaced) return entry.object;
    this.written.delete(key);
    return cached;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  get size(): number {
    return this.written.size;
  }
}

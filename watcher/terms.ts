/**
 * Leadership terms: one per shard held (shard 0 is everything when there is one). A term's abort
 * signal is what every reconcile of the shard runs on, so losing the shard stops in-flight work before
 * its next write and destroys its requests; the work in flight is tracked so a hand-over can wait for it.
 */
import { setMaxListeners } from 'node:events';

export class ShardTerms {
  private readonly terms = new Map<number, AbortController>();
  private readonly inFlight = new Map<number, Set<Promise<void>>>();

  begin(shard: number): void {
    const term = new AbortController();
    // Every in-flight request listens to the signal (and takes its listener with it when done), so many at once are normal.
    setMaxListeners(0, term.signal);
    this.terms.set(shard, term);
  }

  end(shard: number, reason: Error): void {
    this.terms.get(shard)?.abort(reason);
    this.terms.delete(shard);
  }

  /** The signal of `shard`'s current term; undefined while it is not held. */
  signal(shard: number | undefined): AbortSignal | undefined {
    return shard === undefined ? undefined : this.terms.get(shard)?.signal;
  }

  get size(): number {
    return this.terms.size;
  }

  /** The shards held now, in order. */
  held(): number[] {
    return [...this.terms.keys()].sort((a, b) => a - b);
  }

  /** Runs `work` as part of `shard`'s work in flight. */
  async track(shard: number, work: Promise<void>): Promise<void> {
    const inFlight = this.inFlight.get(shard) ?? new Set();
    this.inFlight.set(shard, inFlight);
    inFlight.add(work);
    try {
      await work;
    } finally {
      inFlight.delete(work);
    }
  }

  /** Resolves once `shard`'s work in flight has finished (a hand-over bounds the wait). */
  async drain(shard: number): Promise<void> {
    await Promise.all(this.inFlight.get(shard) ?? []);
  }
}

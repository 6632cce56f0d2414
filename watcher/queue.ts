/**
 * A work queue with client-go's semantics: a key is queued at most once, never handed to two
 * workers at once (a key added while it is processed is processed again afterwards), can be added
 * after a delay or at a time, and failing keys back off exponentially until `forget`.
 */
import { MAX_TIMER_MS, systemClock, timerAt, type Clock } from './clock.js';

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Keys due at a time of the clock (`addAt`), apart from the backoffs, which wait in real time. */
  private readonly due = new Map<string, { at: number; cancel: () => void }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly baseDelayMs = 100,
    private readonly maxDelayMs = 300_000,
    /** The time `addAt` reads: a run's next due time (startAfter, a retry delay, a timeout) is the clock's. */
    private readonly clock: Clock = systemClock,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else this.queue.push(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) return this.add(key);
    // Node runs a timer over 2^31 - 1 ms after 1 ms instead (a hot loop); a far key is looked at again early.
    delayMs = Math.min(delayMs, MAX_TIMER_MS);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Adds `key` when the clock reads `at`; an earlier pending time for the same key wins. */
  addAt(key: string, at: Date): void {
    if (at.getTime() <= this.clock.now().getTime()) return this.add(key);
    const pending = this.due.get(key);
    if (pending && pending.at <= at.getTime()) return;
    pending?.cancel();
    const cancel = timerAt(this.clock, at, () => {
      this.due.delete(key);
      this.add(key);
    });
    this.due.set(key, { at: at.getTime(), cancel });
  }

  /** Adds `key` after an exponential backoff that grows with its consecutive failures. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /**
   * Every key backing off after failures is added now and starts its backoff again from the base:
   * the failures had one cause that is gone (the API server is back).
   */
  retryFailedNow(): void {
    const failed = [...this.failures.keys()];
    this.failures.clear();
    for (const key of failed) {
      const pending = this.timers.get(key);
      if (pending) {
        clearTimeout(pending.timer);
        this.timers.delete(key);
      }
      this.add(key);
    }
  }

  /** Clears `key`'s failure count after it succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process, or undefined once shut down. Call `done(key)` when finished. */
  next(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const { cancel } of this.due.values()) cancel();
    this.due.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}

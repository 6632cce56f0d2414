/**
 * The watcher's time source. Every decision about time (startAfter, timeouts, retry delays, status
 * timestamps, schedules) reads it, so tests and the demo can set the time instead of depending on
 * today's date. Leader election keeps real time: its Lease timings are shared with other replicas.
 */
export interface Clock {
  now(): Date;
  /**
   * Calls `callback` once the clock reads `at` or later; returns a function that cancels it.
   * @default - a real timer for the remaining time (see `timerAt`)
   */
  setTimer?(at: Date, callback: () => void): () => void;
}

export const systemClock: Clock = { now: () => new Date() };

/** Node's timers overflow past 2^31 - 1 ms; a far wake-up is re-armed by the woken code. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `callback` when `clock` reads `at`: the clock's own timer, or a real one. */
export function timerAt(clock: Clock, at: Date, callback: () => void): () => void {
  if (clock.setTimer) return clock.setTimer(at, callback);
  const timer = setTimeout(callback, Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - clock.now().getTime())));
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * A clock that moves when told to: `advance` and `set` fire the timers that fall due, in time order,
 * so a test can cross hours of schedule in milliseconds. With `realSpeed` it also runs at real speed
 * between jumps (the demo: "fast-forward to the next night").
 */
export class ManualClock implements Clock {
  private offsetMs: number;
  private readonly timers = new Set<{ at: number; callback: () => void; real?: NodeJS.Timeout }>();
  private readonly elapsed: () => number;

  constructor(start: Date, options: { readonly realSpeed?: boolean } = {}) {
    this.elapsed = options.realSpeed ? () => performance.now() : () => 0;
    this.offsetMs = start.getTime() - this.elapsed();
  }

  now(): Date {
    return new Date(this.elapsed() + this.offsetMs);
  }

  setTimer(at: Date, callback: () => void): () => void {
    const timer: { at: number; callback: () => void; real?: NodeJS.Timeout } = { at: at.getTime(), callback };
    if (timer.at <= this.now().getTime()) {
      queueMicrotask(callback);
      return () => {};
    }
    this.timers.add(timer);
    if (this.elapsed() !== 0) {
      timer.real = setTimeout(() => this.fireDue(), Math.min(MAX_TIMER_MS, timer.at - this.now().getTime()));
      timer.real.unref();
    }
    return () => {
      clearTimeout(timer.real);
      this.timers.delete(timer);
    };
  }

  /** Moves the clock forward by `ms` and fires every timer due by then. */
  advance(ms: number): void {
    this.set(new Date(this.now().getTime() + ms));
  }

  /** Sets the time (never backwards) and fires every timer due by then. */
  set(to: Date): void {
    if (to.getTime() < this.now().getTime()) throw new Error(`ManualClock cannot go back from ${this.now().toISOString()} to ${to.toISOString()}`);
    this.offsetMs = to.getTime() - this.elapsed();
    this.fireDue();
  }

  private fireDue(): void {
    const now = this.now().getTime();
    const due = [...this.timers].filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    for (const timer of due) {
      clearTimeout(timer.real);
      this.timers.delete(timer);
      timer.callback();
    }
  }
}

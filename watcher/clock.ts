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

/** A clock that reads `start` now and then runs at real speed. */
export function clockStartingAt(start: Date, real: Clock = systemClock): Clock {
  const offsetMs = start.getTime() - real.now().getTime();
  return { now: () => new Date(real.now().getTime() + offsetMs) };
}

/** Node's timers overflow past 2^31 - 1 ms; a far wake-up is re-armed by the woken code. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `callback` when `clock` reads `at`: the clock's own timer, or a real one. */
export function timerAt(clock: Clock, at: Date, callback: () => void): () => void {
  if (clock.setTimer) return clock.setTimer(at, callback);
  const timer = setTimeout(callback, Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - clock.now().getTime())));
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * A clock that only moves when told to (tests): `advance` and `set` fire the timers that fall due,
 * in time order, so a test can cross hours of schedule in milliseconds.
 */
export class ManualClock implements Clock {
  private epochMs: number;
  private readonly timers = new Set<{ at: number; callback: () => void }>();

  constructor(start: Date) {
    this.epochMs = start.getTime();
  }

  now(): Date {
    return new Date(this.epochMs);
  }

  setTimer(at: Date, callback: () => void): () => void {
    const timer = { at: at.getTime(), callback };
    if (timer.at <= this.epochMs) {
      queueMicrotask(callback);
      return () => {};
    }
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves the clock forward by `ms` and fires every timer due by then. */
  advance(ms: number): void {
    this.set(new Date(this.epochMs + ms));
  }

  /** Sets the time (never backwards) and fires every timer due by then. */
  set(to: Date): void {
    if (to.getTime() < this.epochMs) throw new Error(`ManualClock cannot go back from ${this.now().toISOString()} to ${to.toISOString()}`);
    this.epochMs = to.getTime();
    const due = [...this.timers].filter((t) => t.at <= this.epochMs).sort((a, b) => a.at - b.at);
    for (const timer of due) {
      this.timers.delete(timer);
      timer.callback();
    }
  }
}

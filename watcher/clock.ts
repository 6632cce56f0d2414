/**
 * The watcher's time source. Every decision about time (startAfter, timeouts, retry delays, status
 * timestamps) reads it, so tests and the demo can set the time instead of depending on today's date.
 * Leader election keeps real time: its Lease timings are shared with other replicas.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that reads `start` now and then runs at real speed. */
export function clockStartingAt(start: Date, real: Clock = systemClock): Clock {
  const offsetMs = start.getTime() - real.now().getTime();
  return { now: () => new Date(real.now().getTime() + offsetMs) };
}

/** Status carries RFC 3339 strings; the planner compares epoch milliseconds. */

export type Millis = number;

/** RFC 3339 in UTC, with milliseconds only when there are some (Kubernetes writes whole seconds). */
export function formatTime(ms: Millis): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function parseTime(text: string): Millis {
  return Date.parse(text);
}

export function seconds(count: number): Millis {
  return count * 1000;
}

/** The earliest of the given times that is still ahead of `now`. */
export function nextAfter(now: Millis, times: Iterable<Millis | undefined>): Millis | undefined {
  let next: Millis | undefined;
  for (const time of times) {
    if (time !== undefined && time > now && (next === undefined || time < next)) next = time;
  }
  return next;
}

export function latest(times: Iterable<Millis | undefined>): Millis | undefined {
  let last: Millis | undefined;
  for (const time of times) if (time !== undefined && (last === undefined || time > last)) last = time;
  return last;
}

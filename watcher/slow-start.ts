/**
 * The Job controller's slowStartBatch: calls `fn` on `items` in parallel batches of 1, 2, 4, … up to
 * `maxBatch`, so a call that fails for every item (a quota, a webhook that is down) fails after a
 * handful of requests instead of thousands, while a healthy fan-out reaches full width in a few
 * round trips. Stops after the first batch in which a call threw (the first error is thrown once the
 * batch settled) or returned a value (returned): the items not reached were never started.
 */
export async function slowStart<T, R>(items: readonly T[], fn: (item: T) => Promise<R | undefined>, maxBatch = 64): Promise<R | undefined> {
  for (let start = 0, size = 1; start < items.length; start += size, size = Math.min(size * 2, maxBatch)) {
    const settled = await Promise.allSettled(items.slice(start, start + size).map(fn));
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    for (const outcome of settled) if (outcome.status === 'fulfilled' && outcome.value !== undefined) return outcome.value;
  }
  return undefined;
}

/**
 * slowStart (watcher/slow-start.ts): the Job controller's batches of 1, 2, 4, …, and where they stop.
 */
import { describe, expect, it } from 'vitest';
import { slowStart } from '../../watcher/slow-start.js';

/** Records which items ran in which batch (a batch: the calls in flight together). */
function recorder(outcome: (item: number) => Promise<string | undefined> = async () => undefined) {
  const batches: number[][] = [];
  let inFlight: number[] | undefined;
  const fn = async (item: number) => {
    if (!inFlight) {
      inFlight = [];
      batches.push(inFlight);
      queueMicrotask(() => (inFlight = undefined));
    }
    inFlight.push(item);
    await new Promise((resolve) => setImmediate(resolve));
    return outcome(item);
  };
  return { batches, fn };
}

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('slowStart', () => {
  it('runs 1, 2, 4, … in parallel up to the widest batch, every item once', async () => {
    const { batches, fn } = recorder();
    await expect(slowStart(items(200), fn, 64)).resolves.toBeUndefined();
    expect(batches.map((b) => b.length)).toEqual([1, 2, 4, 8, 16, 32, 64, 64, 9]);
    expect(batches.flat()).toEqual(items(200));
  });

  it('a call that fails for every item fails after the first batch: 1 call, not 1,000', async () => {
    const { batches, fn } = recorder(async () => Promise.reject(new Error('exceeded quota: pods=10')));
    await expect(slowStart(items(1000), fn)).rejects.toThrow('exceeded quota');
    expect(batches.flat()).toEqual([0]);
  });

  it('a failure stops after its batch settled; the first error is thrown', async () => {
    const { batches, fn } = recorder(async (item) => (item === 4 || item === 5 ? Promise.reject(new Error(`webhook down (${item})`)) : undefined));
    await expect(slowStart(items(100), fn)).rejects.toThrow('webhook down (4)');
    expect(batches).toEqual([[0], [1, 2], [3, 4, 5, 6]]);
  });

  it('a call that returns a value (a refusal) stops after its batch and returns it', async () => {
    const { batches, fn } = recorder(async (item) => (item >= 2 ? `refused ${item}` : undefined));
    await expect(slowStart(items(100), fn)).resolves.toBe('refused 2');
    expect(batches).toEqual([[0], [1, 2]]);
  });
});

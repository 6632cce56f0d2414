/**
 * Retry delays: `retryDelaySeconds` for the first retry, times `factor` for each one after, at most
 * `maxDelaySeconds`, then shortened by up to `jitter` (a fraction). The jitter is not random: it is a
 * hash of the run, the index and the attempt, so every plan of the same retry agrees on its time (the
 * planner is idempotent) and retries of different indexes and runs still spread out.
 */
import { createHash } from 'node:crypto';
import type { JobTemplate } from '../schema/template.js';

/** Milliseconds to wait before retry `retryIndex` (1 or more), from the index's last finish. */
export function retryDelayMillis(template: Pick<JobTemplate, 'retryDelaySeconds' | 'retryBackoff'>, seed: string, retryIndex: number): number {
  const base = template.retryDelaySeconds ?? 0;
  const { factor = 1, maxDelaySeconds = Infinity, jitter = 0 } = template.retryBackoff ?? {};
  const grown = Math.min(base * factor ** Math.max(0, retryIndex - 1), maxDelaySeconds);
  const shortened = jitter > 0 ? grown * (1 - jitter * jitterFraction(`${seed}/${retryIndex}`)) : grown;
  return Math.round(shortened * 1000);
}

/** A fraction in [0, 1) fixed by `seed`: the first 48 bits of its SHA-256. */
export function jitterFraction(seed: string): number {
  return createHash('sha256').update(seed).digest().readUIntBE(0, 6) / 2 ** 48;
}

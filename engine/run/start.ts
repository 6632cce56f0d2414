/**
 * When a run starts (Furiko's JobQueueController, reference/furiko.md §7.4). Rendered runs start at
 * once: their first attempts are in Git and start when applied. Deferred runs wait for `startAfter`
 * and their JobConfig's concurrency policy; the watcher then creates their first attempts.
 */
import { parseTime, type Millis } from './time.js';
import type { RunSnapshot } from './types.js';

export type StartDecision =
  | { readonly kind: 'started'; readonly startTime: Millis }
  | { readonly kind: 'queued'; readonly reason: 'NotYetDue' | 'Queued'; readonly message: string; readonly until?: Millis }
  | { readonly kind: 'rejected'; readonly reason: string; readonly message: string };

export const CONCURRENCY_FORBIDDEN = 'ConcurrencyForbidden';

export function decideStart({ run, concurrency }: RunSnapshot, now: Millis): StartDecision {
  const startTime = run.status?.startTime;
  if (startTime) return { kind: 'started', startTime: parseTime(startTime) };
  if ((run.spec.materialization ?? 'Rendered') === 'Rendered') return { kind: 'started', startTime: now };
  const startAfter = run.spec.startAfter;
  if (startAfter && parseTime(startAfter) > now) {
    return { kind: 'queued', reason: 'NotYetDue', message: `Run is queued to start no earlier than ${startAfter}`, until: parseTime(startAfter) };
  }
  // Without a JobConfig context (no other runs known) only the run's own policy and startAfter apply.
  const policy = run.spec.concurrencyPolicy ?? concurrency?.policy ?? 'Allow';
  const maxConcurrency = concurrency?.maxConcurrency ?? 1;
  const activeRuns = concurrency?.activeRuns ?? 0;
  if (policy === 'Forbid' && activeRuns + 1 > maxConcurrency) {
    return {
      kind: 'rejected',
      reason: CONCURRENCY_FORBIDDEN,
      message: `Cannot start new JobRun, ${run.spec.configName} has ${activeRuns} active JobRuns but concurrency policy is Forbid`,
    };
  }
  if (policy === 'Enqueue' && activeRuns + (concurrency?.queuedAhead ?? 0) >= maxConcurrency) {
    return { kind: 'queued', reason: 'Queued', message: 'Run is queued and may be pending other concurrent runs to be finished' };
  }
  return { kind: 'started', startTime: now };
}

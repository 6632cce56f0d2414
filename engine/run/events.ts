/**
 * Events for what changed since the previous status, one per transition. Derived from the previous
 * and the new status (and this plan's first-time actions), so planning again emits nothing.
 * Messages carry names, reasons and states only: never option values or substitutions.
 */
import type { JobRunStatus, RetryDecision } from '../schema/resources.js';
import { CACHED } from './cache.js';
import type { IssuedCreate, DeferredRetry } from './creates.js';
import type { IssuedKill } from './kills.js';
import { TERMINAL_PHASES } from './phase.js';
import { formatTime } from './time.js';
import type { RunEvent } from './types.js';

export interface EventInput {
  readonly previous: JobRunStatus;
  readonly next: JobRunStatus;
  readonly creates: readonly IssuedCreate[];
  readonly kills: readonly IssuedKill[];
  readonly deferred: readonly DeferredRetry[];
  readonly maxAttempts: number;
  /** Keys of the indexes the previous status showed waiting to retry (fold.ts backingOffIndexes). */
  readonly backingOff: ReadonlySet<string>;
}

/** `attempt 2 of 3`; RetryNotCounted retries can go past maxAttempts. */
function attemptOf(retryIndex: number, maxAttempts: number): string {
  const attempt = retryIndex + 1;
  return attempt <= maxAttempts ? `attempt ${attempt} of ${maxAttempts}` : `attempt ${attempt}, past maxAttempts ${maxAttempts} by uncounted retries`;
}

function ruleDecision(decision: RetryDecision | undefined): string {
  if (!decision) return '';
  const capped = decision.uncountedCapReached ? ' (RetryNotCounted, but maxUncountedRetries is used up)' : '';
  return `; retry rule ${decision.rule} decided ${decision.action}${capped}`;
}

/** Timeouts are the news; a kill the run or its completion strategy asked for is routine. */
const TIMEOUT_REASONS = new Set(['PendingTimeout', 'TaskTimeout']);

export function runEvents({ previous, next, creates, kills, deferred, maxAttempts, backingOff }: EventInput): RunEvent[] {
  const events: RunEvent[] = [];
  if (!previous.startTime && next.startTime) events.push({ type: 'Normal', reason: 'Started', message: `Run started at ${next.startTime}` });
  const finishedBefore = new Set((previous.tasks ?? []).filter((ref) => ref.finishTimestamp).map((ref) => ref.name));
  for (const ref of next.tasks ?? []) {
    // A task answered from the cache has its own event (TaskCached, plan.ts), with where the result came from.
    if (!ref.finishTimestamp || finishedBefore.has(ref.name) || ref.status.reason === CACHED) continue;
    const outcome = (ref.status.result ?? ref.status.state) + (ref.status.reason ? ` (${ref.status.reason})` : '');
    events.push({ type: ref.status.result === 'Succeeded' ? 'Normal' : 'Warning', reason: 'TaskFinished', message: `Task ${ref.name} finished: ${outcome}${ruleDecision(ref.retryRule)}` });
  }
  for (const { kill } of kills.filter((issued) => !issued.reissue)) {
    const timeout = TIMEOUT_REASONS.has(kill.reason);
    events.push({ type: timeout ? 'Warning' : 'Normal', reason: timeout ? kill.reason : 'Killing', message: `Killing task ${kill.name} (${kill.reason}): ${kill.message}` });
  }
  for (const retry of deferred.filter((d) => !backingOff.has(d.key))) {
    events.push({ type: 'Normal', reason: 'RetryScheduled', message: `Index ${retry.key} retries (${attemptOf(retry.retryIndex, maxAttempts)}) at ${formatTime(retry.due)}` });
  }
  for (const { name, key, create } of creates.filter((issued) => !issued.reissue)) {
    events.push({ type: 'Normal', reason: 'TaskCreated', message: `Created task ${name} (index ${key}, ${attemptOf(create.retryIndex, maxAttempts)})` });
  }
  if (next.phase && TERMINAL_PHASES.has(next.phase) && !TERMINAL_PHASES.has(previous.phase)) {
    events.push({ type: next.phase === 'Succeeded' ? 'Normal' : 'Warning', reason: 'Finished', message: `Run ${next.phase}: ${next.message ?? next.phase}` });
  }
  return events;
}

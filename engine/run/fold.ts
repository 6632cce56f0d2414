/**
 * Folding: once a run's status outgrows FOLD_THRESHOLD_BYTES, finished attempts are summarized per
 * index instead of kept one ref each, so the status stays within STATUS_BUDGET_BYTES however many
 * attempts the run makes. Folded are every attempt of a terminated index, and the older attempts of
 * an index still retrying (its latest attempt stays a ref: retries wait from its finish). Indexes
 * folded alike share one `status.foldedTasks` entry that lists their positions as ranges ("0-3,7",
 * as Kubernetes writes a Job's completedIndexes). Each attempt's outcome is in a TaskFinished event.
 *
 * The planner decides the same on a folded status as on the full one (test/engine/run-bounds.test.ts):
 * a folded attempt counts as finished, a folded success keeps its index succeeded, and an object seen
 * under a folded attempt's name is that attempt only if it has ended and was created no later than
 * the attempts folded with it finished; otherwise it is a stray. The one case this cannot tell: a new
 * object that appeared and ended between two looks, created no later than its group's latest finish
 * (timestamps are whole seconds, so within the very second the task finished is enough).
 */
import { canonicalIndexJson, type ParallelIndex } from '../indexes.js';
import type { FoldedTasks, JobRunStatus, RetryDecision, TaskRef } from '../schema/resources.js';
import { compact } from './compact.js';
import { endsIndex } from './retries.js';
import type { IndexView } from './index-status.js';
import { isFinished, type TaskStatus } from './task-refs.js';
import { formatTime, latest, parseTime, type Millis } from './time.js';

/** etcd refuses requests over 1.5 MiB; a run's spec may take 1 MiB (MAX_OBJECT_BYTES), metadata the rest. */
export const STATUS_BUDGET_BYTES = 256 * 1024;
/** Past this, finished attempts are folded; half the budget leaves room for the tasks still going. */
export const FOLD_THRESHOLD_BYTES = 128 * 1024;

/** The finished attempts of one index that the status keeps only as counts. */
export interface FoldedIndex {
  /** Retry indexes 0 to attempts-1. */
  readonly attempts: number;
  readonly lastFinish: Millis;
  /** The last folded attempt's status without its message (a success wherever it was: it ends the index). */
  readonly lastStatus: TaskStatus;
  /** Folded attempts a RetryNotCounted rule retried. */
  readonly uncounted?: number;
  /** The retry rule that decided about the last folded attempt. */
  readonly lastRetryRule?: RetryDecision;
}

export type FoldedByIndex = ReadonlyMap<string, FoldedIndex>;

export function statusBytes(status: JobRunStatus): number {
  return Buffer.byteLength(JSON.stringify(status));
}

/** `status.foldedTasks` by canonical index JSON. Positions outside the index list (a foreign write) are ignored. */
export function readFolded(groups: readonly FoldedTasks[] | undefined, indexes: readonly ParallelIndex[]): Map<string, FoldedIndex> {
  const folded = new Map<string, FoldedIndex>();
  for (const group of groups ?? []) {
    const entry: FoldedIndex = compact({
      attempts: group.attempts,
      lastFinish: parseTime(group.lastFinishTime),
      lastStatus: group.lastStatus,
      uncounted: group.uncountedAttempts,
      lastRetryRule: group.lastRetryRule,
    });
    for (const position of parseRanges(group.indexes, indexes.length)) folded.set(canonicalIndexJson(indexes[position]!), entry);
  }
  return folded;
}

/** Whether `retryIndex` of the index is one of its folded attempts. */
export function foldedAttempt(folded: FoldedByIndex, index: ParallelIndex, retryIndex: number): FoldedIndex | undefined {
  const entry = folded.get(canonicalIndexJson(index));
  return entry && retryIndex < entry.attempts ? entry : undefined;
}

/**
 * Keys of the indexes a status shows waiting to retry: listed as RetryBackoff, or, once folded out
 * of `status.indexes`, with only failed attempts folded, attempts left (retry rules: uncounted ones aside,
 * none that ended the index) and nothing else on record.
 */
export function backingOffIndexes(status: JobRunStatus, folded: FoldedByIndex, indexes: readonly ParallelIndex[], onRecord: ReadonlySet<string>, maxAttempts: number, keyOf: (index: ParallelIndex) => string): Set<string> {
  const keys = new Set((status.indexes ?? []).filter((index) => index.state === 'RetryBackoff').map((index) => index.key));
  for (const index of indexes) {
    const json = canonicalIndexJson(index);
    const entry = folded.get(json);
    const attemptsLeft = entry && entry.attempts - (entry.uncounted ?? 0) < maxAttempts && !endsIndex(entry.lastRetryRule);
    if (entry && !onRecord.has(json) && entry.lastStatus.result !== 'Succeeded' && attemptsLeft) keys.add(keyOf(index));
  }
  return keys;
}

export interface Folding {
  /** The refs the status keeps. */
  readonly refs: TaskRef[];
  readonly groups: FoldedTasks[];
}

/**
 * Folds what can be folded of `views` (the plan's final summary) on top of what was folded before.
 * A finished attempt whose object is still going (stopped before it ran, its kill not landed yet)
 * stays a ref until its object ends, so that any object going under a folded name is a stray.
 * `latestToo` (a status still over budget: thousands of indexes waiting to retry) folds an index's
 * latest attempt as well; its retry then waits from its group's latest finish (later, never earlier).
 */
export function foldAttempts(views: readonly IndexView[], refs: readonly TaskRef[], going: ReadonlySet<string>, { latestToo = false } = {}): Folding {
  const foldedNow = new Set<TaskRef>();
  const byPosition: (FoldedIndex | undefined)[] = [];
  views.forEach((view, position) => {
    const terminated = view.state === 'Terminated' && view.result !== undefined;
    const latestRetry = Math.max(-1, ...view.refs.map((ref) => ref.retryIndex));
    const older = (ref: TaskRef) => latestToo || ref.retryIndex < latestRetry;
    const foldable = (ref: TaskRef) => isFinished(ref) && !going.has(ref.name) && (terminated || (view.result !== 'Succeeded' && older(ref)));
    // Folded attempts are retry indexes 0 to attempts-1: fold the next ones in order, up to the first that must stay.
    const byRetry = new Map(view.refs.map((ref) => [ref.retryIndex, ref]));
    const folding: TaskRef[] = [];
    for (let retry = view.folded?.attempts ?? 0; byRetry.has(retry) && foldable(byRetry.get(retry)!); retry++) folding.push(byRetry.get(retry)!);
    for (const ref of folding) foldedNow.add(ref);
    byPosition[position] = merged(view.folded, folding);
  });
  return { refs: refs.filter((ref) => !foldedNow.has(ref)), groups: groupsOf(byPosition) };
}

/** `refs` in retry order. */
function merged(before: FoldedIndex | undefined, refs: readonly TaskRef[]): FoldedIndex | undefined {
  if (refs.length === 0) return before;
  const succeeded = refs.find((ref) => ref.status.result === 'Succeeded');
  const last = succeeded ?? refs.at(-1)!;
  const lastFinish = latest([before?.lastFinish, ...refs.map((ref) => parseTime(ref.finishTimestamp!))])!;
  // The message stays in the attempt's event: messages differ from task to task, and would split groups.
  const { state, result, reason } = last.status;
  const uncounted = (before?.uncounted ?? 0) + refs.filter((ref) => ref.retryRule?.action === 'RetryNotCounted').length;
  return compact<FoldedIndex>({
    attempts: (before?.attempts ?? 0) + refs.length,
    lastFinish,
    lastStatus: compact<TaskStatus>({ state, result, reason }),
    uncounted: uncounted || undefined,
    lastRetryRule: last.retryRule,
  });
}

/** One entry per distinct (attempts, last status); its time is the latest of its indexes'. */
function groupsOf(byPosition: readonly (FoldedIndex | undefined)[]): FoldedTasks[] {
  const groups = new Map<string, { positions: number[]; entry: FoldedIndex; lastFinish: Millis }>();
  byPosition.forEach((entry, position) => {
    if (!entry) return;
    const key = JSON.stringify([entry.attempts, entry.lastStatus.state, entry.lastStatus.result, entry.lastStatus.reason, entry.uncounted, entry.lastRetryRule]);
    const group = groups.get(key);
    if (group) {
      group.positions.push(position);
      group.lastFinish = Math.max(group.lastFinish, entry.lastFinish);
    } else groups.set(key, { positions: [position], entry, lastFinish: entry.lastFinish });
  });
  return [...groups.values()].map(({ positions, entry, lastFinish }) => ({
    indexes: formatRanges(positions),
    attempts: entry.attempts,
    lastFinishTime: formatTime(lastFinish),
    lastStatus: entry.lastStatus,
    ...(entry.uncounted && { uncountedAttempts: entry.uncounted }),
    ...(entry.lastRetryRule && { lastRetryRule: entry.lastRetryRule }),
  }));
}

/** Ascending positions as ranges: [0,1,2,3,7] → "0-3,7". */
export function formatRanges(positions: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < positions.length; i++) {
    const start = positions[i]!;
    while (i + 1 < positions.length && positions[i + 1] === positions[i]! + 1) i++;
    parts.push(start === positions[i] ? `${start}` : `${start}-${positions[i]}`);
  }
  return parts.join(',');
}

/** Positions below `limit` in ranges written by formatRanges; anything else is skipped. */
export function parseRanges(text: string, limit: number): number[] {
  const positions: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) continue;
    const start = Number(match[1]);
    const end = Math.min(match[2] === undefined ? start : Number(match[2]), limit - 1);
    for (let position = start; position <= end; position++) positions.push(position);
  }
  return positions;
}

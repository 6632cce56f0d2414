/**
 * Per-index status, counters and completion (Furiko's getIndexStatus, GetParallelStatusCounters and
 * GetParallelTaskSummary, reference/furiko.md §4). A run without parallelism has the one default index.
 */
import { canonicalIndexJson, type ParallelIndex } from '../indexes.js';
import { indexNamePart } from '../names.js';
import type { INDEX_STATES, RetryDecision, TaskRef } from '../schema/resources.js';
import type { CompletionStrategy } from '../schema/template.js';
import type { FoldedByIndex, FoldedIndex } from './fold.js';
import { COMPLETION_STRATEGY, FAIL_RUN } from './kills.js';
import { endsIndex } from './retries.js';
import { indexJson, isFinished } from './task-refs.js';

export type IndexState = (typeof INDEX_STATES)[number];

export interface IndexView {
  readonly index: ParallelIndex;
  /** The index as it appears in task names. */
  readonly key: string;
  /** The attempts the status keeps as refs. */
  readonly refs: readonly TaskRef[];
  /** Finished attempts kept only as a count (fold.ts). */
  readonly folded?: FoldedIndex;
  /** Every attempt made: folded and refs. */
  readonly attempts: number;
  /** Finished attempts a RetryNotCounted rule retried: they do not count against maxAttempts. */
  readonly uncounted: number;
  /** The retry rule that decided about the index's latest finished attempt. */
  readonly decision?: RetryDecision;
  readonly state: IndexState;
  readonly result?: 'Succeeded' | 'Failed';
  /** Failed, but its last attempt's object vanished before its result was known. */
  readonly resultUnknown: boolean;
  /** Failed because the completion strategy or a FailRun rule stopped its last attempt, after another index decided the run. */
  readonly stoppedByStrategy: boolean;
}

export interface RunSummary {
  readonly indexes: readonly IndexView[];
  /** Indexes with at least one task. */
  readonly created: number;
  readonly retryBackoff: number;
  readonly starting: number;
  /** NotCreated, RetryBackoff and Terminated indexes: none has a task that is still going. */
  readonly terminated: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly complete: boolean;
  readonly successful: boolean;
  /** Complete and not successful, but only because results were lost: FinishedUnknown, not Failed. */
  readonly finalStateUnknown: boolean;
  /** The index whose attempt a FailRun rule decided: the run fails whatever its completion strategy. */
  readonly failedRun?: IndexView;
}

export interface SummaryInput {
  readonly runName: string;
  readonly indexes: readonly ParallelIndex[];
  readonly refs: readonly TaskRef[];
  readonly maxAttempts: number;
  readonly strategy: CompletionStrategy;
  readonly folded?: FoldedByIndex;
}

/** Kill reasons of tasks stopped because another index decided the run. */
const RUN_STOPS = new Set<string | undefined>([COMPLETION_STRATEGY, FAIL_RUN]);

export function summarize({ runName, indexes, refs, maxAttempts, strategy, folded }: SummaryInput): RunSummary {
  const refsByIndex = new Map<string, TaskRef[]>();
  for (const ref of refs) {
    const group = refsByIndex.get(indexJson(ref));
    if (group) group.push(ref);
    else refsByIndex.set(indexJson(ref), [ref]);
  }
  const views = indexes.map((index) => {
    const json = canonicalIndexJson(index);
    return indexView(index, indexNamePart(runName, index), refsByIndex.get(json) ?? [], folded?.get(json), maxAttempts);
  });
  const count = (test: (view: IndexView) => boolean) => views.filter(test).length;
  const succeeded = count((v) => v.result === 'Succeeded');
  const failed = count((v) => v.result === 'Failed');
  const failedKnown = count((v) => v.result === 'Failed' && !v.resultUnknown);
  const total = views.length;
  const failedRun = views.find((v) => v.decision?.action === 'FailRun');
  const [success, failure, knownFailure] =
    strategy === 'AnySuccessful' ? [succeeded > 0, failed >= total || !!failedRun, failedKnown >= total || !!failedRun] : [succeeded >= total, failed > 0, failedKnown > 0];
  return {
    indexes: views,
    created: count((v) => v.state !== 'NotCreated'),
    retryBackoff: count((v) => v.state === 'RetryBackoff'),
    starting: count((v) => v.state === 'Starting'),
    terminated: count((v) => v.state === 'NotCreated' || v.state === 'RetryBackoff' || v.state === 'Terminated'),
    succeeded,
    failed,
    complete: success || failure,
    successful: success,
    finalStateUnknown: !success && failure && !knownFailure,
    ...(failedRun && { failedRun }),
  };
}

function indexView(index: ParallelIndex, key: string, refs: TaskRef[], folded: FoldedIndex | undefined, maxAttempts: number): IndexView {
  const succeeded = folded?.lastStatus.result === 'Succeeded' || refs.some((ref) => ref.status.result === 'Succeeded');
  const finished = refs.filter(isFinished);
  const attempts = (folded?.attempts ?? 0) + refs.length;
  const uncounted = (folded?.uncounted ?? 0) + finished.filter((ref) => ref.retryRule?.action === 'RetryNotCounted').length;
  const lastFinished = finished.reduce<TaskRef | undefined>((last, ref) => (!last || ref.retryIndex > last.retryIndex ? ref : last), undefined);
  const decision = lastFinished ? lastFinished.retryRule : folded?.lastRetryRule;
  const failed = !succeeded && ((folded?.attempts ?? 0) + finished.length - uncounted >= maxAttempts || endsIndex(decision));
  const allFinished = finished.length === refs.length;
  let state: IndexState;
  if (attempts === 0) state = 'NotCreated';
  else if (allFinished && !succeeded && !failed) state = 'RetryBackoff';
  else if (allFinished) state = 'Terminated';
  else if (refs.some((ref) => ref.runningTimestamp && !isFinished(ref))) state = 'Running';
  else state = 'Starting';
  const lastAttempt = refs.reduce<TaskRef | undefined>((last, ref) => (!last || ref.retryIndex > last.retryIndex ? ref : last), undefined);
  const lastStatus = lastAttempt?.status ?? folded?.lastStatus;
  return {
    index,
    key,
    refs,
    ...(folded && { folded }),
    attempts,
    uncounted,
    ...(decision && { decision }),
    state,
    ...(succeeded ? { result: 'Succeeded' as const } : failed ? { result: 'Failed' as const } : {}),
    resultUnknown: failed && lastStatus?.state === 'DeletedFinalStateUnknown',
    stoppedByStrategy: RUN_STOPS.has(lastAttempt ? lastAttempt.killRequest?.reason : folded?.lastStatus.reason),
  };
}

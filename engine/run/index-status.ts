/**
 * Per-index status, counters and completion (Furiko's getIndexStatus, GetParallelStatusCounters and
 * GetParallelTaskSummary, reference/furiko.md §4). A run without parallelism has the one default index.
 */
import { canonicalIndexJson, type ParallelIndex } from '../indexes.js';
import { indexNamePart } from '../names.js';
import type { INDEX_STATES, TaskRef } from '../schema/resources.js';
import type { CompletionStrategy } from '../schema/template.js';
import { indexJson, isFinished } from './task-refs.js';

export type IndexState = (typeof INDEX_STATES)[number];

export interface IndexView {
  readonly index: ParallelIndex;
  /** The index as it appears in task names. */
  readonly key: string;
  readonly refs: readonly TaskRef[];
  readonly state: IndexState;
  readonly result?: 'Succeeded' | 'Failed';
  /** The attempt with the highest retry index. */
  readonly lastAttempt?: TaskRef;
  /** Failed, but its last attempt's object vanished before its result was known. */
  readonly resultUnknown: boolean;
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
}

export interface SummaryInput {
  readonly runName: string;
  readonly indexes: readonly ParallelIndex[];
  readonly refs: readonly TaskRef[];
  readonly maxAttempts: number;
  readonly strategy: CompletionStrategy;
}

export function summarize({ runName, indexes, refs, maxAttempts, strategy }: SummaryInput): RunSummary {
  const refsByIndex = new Map<string, TaskRef[]>();
  for (const ref of refs) {
    const group = refsByIndex.get(indexJson(ref));
    if (group) group.push(ref);
    else refsByIndex.set(indexJson(ref), [ref]);
  }
  const views = indexes.map((index) => indexView(index, indexNamePart(runName, index), refsByIndex.get(canonicalIndexJson(index)) ?? [], maxAttempts));
  const count = (test: (view: IndexView) => boolean) => views.filter(test).length;
  const succeeded = count((v) => v.result === 'Succeeded');
  const failed = count((v) => v.result === 'Failed');
  const failedKnown = count((v) => v.result === 'Failed' && !v.resultUnknown);
  const total = views.length;
  const [success, failure, knownFailure] =
    strategy === 'AnySuccessful' ? [succeeded > 0, failed >= total, failedKnown >= total] : [succeeded >= total, failed > 0, failedKnown > 0];
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
  };
}

function indexView(index: ParallelIndex, key: string, refs: TaskRef[], maxAttempts: number): IndexView {
  const succeeded = refs.some((ref) => ref.status.result === 'Succeeded');
  const finished = refs.filter(isFinished);
  const failed = !succeeded && finished.length >= maxAttempts;
  const allFinished = finished.length === refs.length;
  let state: IndexState;
  if (refs.length === 0) state = 'NotCreated';
  else if (allFinished && !succeeded && !failed) state = 'RetryBackoff';
  else if (allFinished) state = 'Terminated';
  else if (refs.some((ref) => ref.runningTimestamp && !isFinished(ref))) state = 'Running';
  else state = 'Starting';
  const lastAttempt = refs.reduce<TaskRef | undefined>((last, ref) => (!last || ref.retryIndex > last.retryIndex ? ref : last), undefined);
  return {
    index,
    key,
    refs,
    state,
    ...(succeeded ? { result: 'Succeeded' as const } : failed ? { result: 'Failed' as const } : {}),
    ...(lastAttempt && { lastAttempt }),
    resultUnknown: failed && lastAttempt?.status.state === 'DeletedFinalStateUnknown',
  };
}

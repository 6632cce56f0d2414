/**
 * A started run's phase, result, reason and message: Furiko's condition rules 3–6 and its phase
 * rules (reference/furiko.md §2.3, §2.4). Admission errors and queueing are decided before this.
 */
import type { RunPhase, RUN_RESULTS, TaskRef } from '../schema/resources.js';
import type { CompletionStrategy } from '../schema/template.js';
import type { IndexView, RunSummary } from './index-status.js';
import { isFinished } from './task-refs.js';
import { formatTime, latest, parseTime, type Millis } from './time.js';

export type RunResult = (typeof RUN_RESULTS)[number];

export interface RunOutcome {
  readonly phase: RunPhase;
  readonly result?: RunResult;
  readonly reason?: string;
  readonly message?: string;
  readonly finishTime?: string;
}

export const TERMINAL_PHASES: ReadonlySet<RunPhase | undefined> = new Set<RunPhase>(['Succeeded', 'Failed', 'Killed', 'AdmissionError', 'FinishedUnknown']);

export interface OutcomeInput {
  readonly summary: RunSummary;
  readonly refs: readonly TaskRef[];
  /** `spec.killTimestamp`, when it has passed. */
  readonly killedAt?: string;
  readonly strategy: CompletionStrategy;
  readonly now: Millis;
}

export function startedOutcome({ summary, refs, killedAt, strategy, now }: OutcomeInput): RunOutcome {
  const total = summary.indexes.length;
  const lastFinish = latest([...summary.indexes.map((view) => view.folded?.lastFinish), ...refs.map((ref) => (ref.finishTimestamp ? parseTime(ref.finishTimestamp) : undefined))]);
  if (killedAt) {
    if (summary.terminated === total) {
      return { phase: 'Killed', result: 'Killed', reason: 'Killed', message: `Run killed at ${killedAt}`, finishTime: lastFinish === undefined ? killedAt : formatTime(lastFinish) };
    }
    const going = refs.filter((ref) => !isFinished(ref)).length;
    return { phase: 'Killing', reason: 'DeletingTasks', message: `Waiting for ${going} out of ${attempts(summary)} task(s) to be killed` };
  }
  if (!summary.complete) return incompleteOutcome(summary);
  if (summary.terminated < total) {
    return { phase: 'Terminating', reason: 'TerminatingTasks', message: `Waiting for ${total - summary.terminated} task(s) to terminate` };
  }
  const finishTime = formatTime(lastFinish ?? now);
  if (summary.successful) return { phase: 'Succeeded', result: 'Success', reason: 'Succeeded', message: `${summary.succeeded}/${total} indexes succeeded`, finishTime };
  const failed = causesOfFailure(summary);
  const keys = failed.slice(0, 3).map((view) => view.key).join(', ') + (failed.length > 3 ? ` and ${failed.length - 3} more` : '');
  if (summary.finalStateUnknown) {
    return { phase: 'FinishedUnknown', result: 'FinalStateUnknown', reason: 'FinalStateUnknown', message: `Tasks of index ${keys} were deleted before their result was known`, finishTime };
  }
  if (summary.failedRun) {
    const { key, decision } = summary.failedRun;
    return { phase: 'Failed', result: 'Failed', reason: 'FailRun', message: `Index ${key} failed and retry rule ${decision!.rule} decided FailRun`, finishTime };
  }
  const which = strategy === 'AnySuccessful' ? `All ${total} indexes failed` : `Index ${keys} failed`;
  return { phase: 'Failed', result: 'Failed', reason: 'TasksFailed', message: `${which} (${strategy})`, finishTime };
}

/** The failed indexes to name: those the completion strategy stopped only followed another's failure. */
function causesOfFailure(summary: RunSummary): IndexView[] {
  const failed = summary.indexes.filter((view) => view.result === 'Failed');
  const causes = failed.filter((view) => !view.stoppedByStrategy);
  return causes.length ? causes : failed;
}

/** Furiko's `waiting` reasons, then its phase rules for a waiting run. */
function incompleteOutcome(summary: RunSummary): RunOutcome {
  const total = summary.indexes.length;
  let reason: string;
  let message: string;
  if (summary.created < total) [reason, message] = ['PendingCreation', `Waiting for ${total - summary.created} out of ${total} task(s) to be created`];
  else if (summary.retryBackoff > 0) [reason, message] = ['RetryBackoff', `Waiting to retry creating ${summary.retryBackoff} task(s)`];
  else if (summary.starting > 0) [reason, message] = ['WaitingForTasks', `Waiting for ${summary.starting} task(s) to start running`];
  else return { phase: 'Running' };
  return { phase: waitingPhase(summary), reason, message };
}

function waitingPhase(summary: RunSummary): RunPhase {
  if (attempts(summary) === 0) return 'Starting';
  if (summary.retryBackoff > 0) return 'RetryBackoff';
  if (summary.indexes.some((view) => view.state === 'Starting' && view.attempts > 1)) return 'Retrying';
  return 'Pending';
}

/** Every attempt made, folded ones included. */
export function attempts(summary: RunSummary): number {
  return summary.indexes.reduce((sum, view) => sum + view.attempts, 0);
}

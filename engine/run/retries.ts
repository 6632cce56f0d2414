/**
 * Retry rules in the plan: each attempt that ended without success since the last status is judged
 * once by the template's rules (engine/retry/), and a rule's decision is kept in the attempt's ref
 * (`retryRule`): it is never judged again (a restarted watcher decides nothing twice) and folds with
 * the attempt. index-status.ts reads the decisions: RetryNotCounted attempts do not count against
 * maxAttempts, FailIndex ends the index, FailRun the run.
 */
import { EXECUTOR_NAMES } from '../executors/index.js';
import type { ExecutorName } from '../executors/types.js';
import { firstMatchingRule, type AttemptObservation } from '../retry/rules.js';
import { DEFAULT_MAX_UNCOUNTED_RETRIES } from '../retry/validate.js';
import type { RetryDecision, TaskRef } from '../schema/resources.js';
import type { JobTemplate } from '../schema/template.js';
import { compact } from './compact.js';
import type { FoldedByIndex } from './fold.js';
import { COMPLETION_STRATEGY, FAIL_RUN } from './kills.js';
import { indexJson, isFinished } from './task-refs.js';
import { parseTime } from './time.js';
import type { ObservedTask } from './types.js';

/** Kills of the whole run: its tasks end because the run does, not for a reason a rule could weigh. */
const RUN_WIDE_KILLS = new Set(['RunKilled', COMPLETION_STRATEGY, FAIL_RUN]);

export interface JudgeContext {
  readonly template: JobTemplate;
  /** The run's task objects as observed now: exit codes and the raw result come from them. */
  readonly tasks: readonly ObservedTask[];
  /** Refs already finished in the previous status: judged then. */
  readonly finishedBefore: ReadonlySet<string>;
  readonly folded: FoldedByIndex;
}

export function judgeAttempts(refs: readonly TaskRef[], context: JudgeContext): TaskRef[] {
  const rules = context.template.retryRules ?? [];
  if (rules.length === 0) return [...refs];
  const cap = context.template.maxUncountedRetries ?? DEFAULT_MAX_UNCOUNTED_RETRIES;
  const executor = EXECUTOR_NAMES.find((name) => context.template.taskTemplate[name] !== undefined)!;
  const observed = new Map(context.tasks.map((task) => [task.name, task]));
  const judged = [...refs];
  judged.forEach((ref, position) => {
    if (!isFinished(ref) || context.finishedBefore.has(ref.name) || ref.retryRule || ref.status.result === 'Succeeded') return;
    if (ref.killRequest && RUN_WIDE_KILLS.has(ref.killRequest.reason)) return;
    const task = observed.get(ref.name);
    const own = task && (!task.uid || !ref.uid || task.uid === ref.uid) ? task : undefined;
    const matched = firstMatchingRule(rules, attemptObservation(ref, own, executor));
    if (!matched) return;
    const capped = matched.rule.action === 'RetryNotCounted' && uncountedBefore(ref, judged, context.folded) >= cap;
    const decision: RetryDecision = { rule: matched.name, action: capped ? 'Retry' : matched.rule.action, ...(capped && { uncountedCapReached: true }) };
    judged[position] = { ...ref, retryRule: decision };
  });
  return judged;
}

/** The attempt as rules see it: the ref's record, with exit codes and the raw result of its object when still there. */
export function attemptObservation(ref: TaskRef, task: ObservedTask | undefined, executor: ExecutorName): AttemptObservation {
  const { state, result, reason, message } = ref.status;
  const ran = ref.runningTimestamp && ref.finishTimestamp ? (parseTime(ref.finishTimestamp) - parseTime(ref.runningTimestamp)) / 1000 : 0;
  return compact<AttemptObservation>({
    result: state === 'DeletedFinalStateUnknown' ? 'Unknown' : result === 'Killed' ? 'Killed' : 'Failed',
    reason,
    message,
    exitCodes: task?.observation.exitCodes,
    durationSeconds: Math.max(0, ran),
    attempt: ref.retryIndex + 1,
    executor,
    taskResult: task ? task.observation.taskResult : ref.taskResult,
  });
}

/** RetryNotCounted attempts of the ref's index before it, folded ones included. */
function uncountedBefore(ref: TaskRef, refs: readonly TaskRef[], folded: FoldedByIndex): number {
  const index = indexJson(ref);
  const inRefs = refs.filter((other) => indexJson(other) === index && other.retryIndex < ref.retryIndex && other.retryRule?.action === 'RetryNotCounted').length;
  return inRefs + (folded.get(index)?.uncounted ?? 0);
}

/** Whether a decision ends the index without another attempt. */
export function endsIndex(decision: RetryDecision | undefined): boolean {
  return decision?.action === 'FailIndex' || decision?.action === 'FailRun';
}

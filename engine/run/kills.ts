/**
 * Which tasks to stop now: all of them once the run is killed or complete (reference/furiko.md §3.5),
 * otherwise those past their pending or run time limit. A kill is recorded in the task's ref
 * (`killRequest`) so it is issued once, and issued again only if the task is still going a minute
 * later (the first request may have been lost: a crash between writing status and patching).
 */
import type { TaskRef } from '../schema/resources.js';
import { DEFAULT_PENDING_TIMEOUT_SECONDS, type CompletionStrategy, type JobTemplate } from '../schema/template.js';
import type { RunSummary } from './index-status.js';
import { isCreateRequested, isFinished, killedStatus } from './task-refs.js';
import { formatTime, parseTime, seconds, type Millis } from './time.js';
import type { KillTask } from './types.js';

export const KILL_REISSUE_SECONDS = 60;
export const COMPLETION_STRATEGY = 'CompletionStrategy';
/** The kill reason when a retry rule's FailRun stops the rest of the run. */
export const FAIL_RUN = 'FailRun';

export interface KillContext {
  readonly now: Millis;
  readonly template: JobTemplate;
  /** `spec.killTimestamp`, when it has passed. */
  readonly killedAt?: string;
  readonly summary: RunSummary;
  readonly strategy: CompletionStrategy;
}

export interface IssuedKill {
  readonly kill: KillTask;
  /** Asked before; no new event. */
  readonly reissue: boolean;
}

export interface KillPlan {
  readonly refs: TaskRef[];
  readonly kills: IssuedKill[];
  /** When a timeout or a re-issue falls due. */
  readonly wakeAt: Millis[];
}

type Cause = Omit<KillTask, 'name'>;

export function decideKills(refs: readonly TaskRef[], context: KillContext): KillPlan {
  const { now } = context;
  const kills: IssuedKill[] = [];
  const wakeAt: Millis[] = [];
  const runWide = runWideCause(context);
  const next = refs.map((ref): TaskRef => {
    if (isFinished(ref) || isCreateRequested(ref)) return ref;
    const previous = ref.killRequest;
    const cause = previous ?? runWide ?? timeoutCause(ref, context, wakeAt);
    if (!cause) return ref;
    if (previous && parseTime(previous.timestamp) + seconds(KILL_REISSUE_SECONDS) > now) {
      wakeAt.push(parseTime(previous.timestamp) + seconds(KILL_REISSUE_SECONDS));
      return ref;
    }
    kills.push({ kill: { name: ref.name, reason: cause.reason, message: cause.message }, reissue: previous !== undefined });
    const killRequest = { reason: cause.reason, message: cause.message, timestamp: formatTime(now) };
    // A task that never ran did no work, and an unscheduled Pod's deadline cannot fire until a node
    // takes it (then it stops at once): it ends now, so its index can retry.
    if (!ref.runningTimestamp) return { ...ref, killRequest, finishTimestamp: formatTime(now), status: killedStatus(killRequest), deletedStatus: killedStatus(killRequest) };
    wakeAt.push(now + seconds(KILL_REISSUE_SECONDS));
    return { ...ref, killRequest };
  });
  return { refs: next, kills, wakeAt };
}

function runWideCause({ killedAt, summary, strategy }: KillContext): Cause | undefined {
  if (killedAt) return { reason: 'RunKilled', message: `Run killed at ${killedAt}` };
  if (!summary.complete) return undefined;
  if (summary.failedRun && !summary.successful) {
    const { key, decision } = summary.failedRun;
    return { reason: FAIL_RUN, message: `Index ${key} failed and retry rule ${decision!.rule} decided FailRun; stopping the remaining tasks` };
  }
  const outcome = summary.successful ? 'Succeeded' : 'Failed';
  const decisive = summary.indexes.find((view) => view.result === outcome);
  return { reason: COMPLETION_STRATEGY, message: `Index ${decisive?.key} ${outcome.toLowerCase()}; ${strategy} stops the remaining tasks` };
}

/** Pending timeout (default 900 s, 0 = off) before the task runs, task timeout (unset or 0 = off) after. */
function timeoutCause(ref: TaskRef, { now, template }: KillContext, wakeAt: Millis[]): Cause | undefined {
  const [limit, since, reason, what] = ref.runningTimestamp
    ? [template.taskTimeoutSeconds ?? 0, ref.runningTimestamp, 'TaskTimeout', 'ran longer than its timeout']
    : [template.taskPendingTimeoutSeconds ?? DEFAULT_PENDING_TIMEOUT_SECONDS, ref.creationTimestamp, 'PendingTimeout', 'did not start running within its pending timeout'];
  if (limit <= 0 || !since) return undefined;
  const deadline = parseTime(since) + seconds(limit);
  if (deadline > now) {
    wakeAt.push(deadline);
    return undefined;
  }
  return { reason, message: `Task ${what} of ${limit}s` };
}

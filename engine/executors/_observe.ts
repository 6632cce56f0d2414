/** Helpers shared by the executors' observe and kill halves. Live objects are plain JSON. */
import type { KillAction, LiveTask, TaskObservation } from './types.js';

/** A Kubernetes-style status condition (Pods, Jobs, and most custom resources). */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string, status: Condition['status'] = 'True'): Condition | undefined {
  return conditions?.find((condition) => condition.type === type && condition.status === status);
}

/** The latest of some RFC 3339 timestamps; unset ones and the Unix epoch (Go's zero time as JSON) are ignored. */
export function latest(timestamps: Iterable<string | undefined>): string | undefined {
  let best: string | undefined;
  for (const timestamp of timestamps) {
    const millis = timestamp ? Date.parse(timestamp) : NaN;
    if (millis > 0 && (best === undefined || millis > Date.parse(best))) best = timestamp;
  }
  return best;
}

/** An object being deleted is being killed until it reports that it finished. */
export function unlessDeleting(task: LiveTask, observation: TaskObservation): TaskObservation {
  const deleting = Boolean(task.object.metadata.deletionTimestamp);
  return deleting && observation.state !== 'Terminated' ? { ...observation, state: 'Killing' } : observation;
}

/** Kill actions start by checking the task still runs: patching a finished object only adds noise. */
export function unlessFinished(observation: TaskObservation, action: () => KillAction): KillAction {
  return observation.state === 'Terminated' ? { kind: 'impossible', why: 'the task already finished' } : action();
}

/**
 * Lower `spec.activeDeadlineSeconds` so the deadline has already passed: the seconds since
 * `status.startTime` (1 if not started). An existing smaller deadline stays (a Pod may only lower it).
 */
export function deadlinePatch(object: LiveTask['object'], now: Date): KillAction {
  const startTime = object.status?.startTime;
  const elapsed = typeof startTime === 'string' ? Math.floor((now.getTime() - Date.parse(startTime)) / 1000) : 0;
  const existing = (object.spec as { activeDeadlineSeconds?: number } | undefined)?.activeDeadlineSeconds;
  const seconds = Math.min(Math.max(1, elapsed), existing ?? Infinity);
  return { kind: 'mergePatch', patch: { spec: { activeDeadlineSeconds: seconds } } };
}

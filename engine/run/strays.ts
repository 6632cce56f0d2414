/**
 * Strays: objects that appear under the name of a task that already finished (a GitOps sync
 * re-creating a first attempt deleted by hand, a `kubectl apply` of an old manifest). The finished
 * task's record stands; the stray is stopped in place (never deleted: GitOps may own it), reported
 * once by event and kept in `status.strayTasks`, and never counted as an attempt.
 */
import type { StrayTask } from '../schema/resources.js';
import { compact } from './compact.js';
import { formatTime, parseTime, seconds, type Millis } from './time.js';
import type { KillTask, ObservedTask, RunEvent } from './types.js';

export const STRAY_TASK = 'StrayTask';
/** A stray that is still going this long after its kill is asked again (the first request may have been lost). */
export const STRAY_KILL_REISSUE_SECONDS = 60;
/** The record keeps the latest strays only: it reports them, it is not an audit log. */
export const MAX_STRAY_RECORDS = 20;

export interface StrayPlan {
  readonly records: StrayTask[];
  readonly kills: KillTask[];
  readonly events: RunEvent[];
  readonly wakeAt: Millis[];
}

export function decideStrays(previous: readonly StrayTask[], observed: readonly ObservedTask[], kind: string, now: Millis): StrayPlan {
  const byUid = new Map(previous.map((record) => [record.uid, record]));
  const kills: KillTask[] = [];
  const events: RunEvent[] = [];
  const wakeAt: Millis[] = [];
  const updated = new Map<string, StrayTask>();
  for (const task of observed) {
    const uid = task.uid ?? `${task.name}@${task.creationTimestamp}`;
    const before = byUid.get(uid);
    const message = `${kind} ${task.name} was created after task ${task.name} had finished; it is stopped in place and not counted as an attempt`;
    if (!before) events.push({ type: 'Warning', reason: STRAY_TASK, message });
    let killRequest = before?.killRequest;
    if (task.observation.state !== 'Terminated') {
      const reissueAt = killRequest ? parseTime(killRequest.timestamp) + seconds(STRAY_KILL_REISSUE_SECONDS) : now;
      if (reissueAt <= now) {
        kills.push({ name: task.name, reason: STRAY_TASK, message });
        killRequest = { reason: STRAY_TASK, message, timestamp: formatTime(now) };
        wakeAt.push(now + seconds(STRAY_KILL_REISSUE_SECONDS));
      } else wakeAt.push(reissueAt);
    }
    const creationTimestamp = task.creationTimestamp || undefined;
    updated.set(uid, compact<StrayTask>({ name: task.name, kind, uid, creationTimestamp, state: task.observation.state, killRequest }));
  }
  // Strays no longer observed stay on record as last seen; new ones are added in name order.
  const added = [...updated.values()].filter((record) => !byUid.has(record.uid)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const records = [...previous.map((record) => updated.get(record.uid) ?? record), ...added];
  return { records: records.slice(-MAX_STRAY_RECORDS), kills, events, wakeAt };
}

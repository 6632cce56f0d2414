/**
 * The run's task refs (Furiko's `status.tasks`): the previous refs merged with what the task objects
 * say now. Timestamps are never cleared, a finished task's status is kept as a tombstone for when its
 * object goes away, and a task the watcher stopped ends as Killed with the watcher's reason.
 */
import type { TaskObservation } from '../executors/types.js';
import { selectExecutor } from '../executors/index.js';
import { canonicalIndexJson, type ParallelIndex } from '../indexes.js';
import type { TaskRef } from '../schema/resources.js';
import type { TaskTemplate } from '../schema/template.js';
import { compact } from './compact.js';
import { foldedAttempt, type FoldedByIndex, type FoldedIndex } from './fold.js';
import { formatTime, parseTime, type Millis } from './time.js';
import type { ObservedTask } from './types.js';

export type TaskStatus = TaskRef['status'];
export type KillRequest = NonNullable<TaskRef['killRequest']>;

export interface TaskKind {
  readonly kind: string;
  readonly apiVersion: string;
}

/**
 * Marks a ref the planner added for a task it asked the runtime to create, until the object is first
 * observed: planning again before the informer sees the object must not create it twice.
 */
export const CREATE_REQUESTED = 'CreateRequested';

/** The kind of object the run's executor creates (the manifest's own for customResource). */
export function taskKind(taskTemplate: TaskTemplate): TaskKind {
  const { selected } = selectExecutor(taskTemplate, 'spec.template.taskTemplate');
  if (!selected) throw new Error('taskKind needs a validated run');
  const { kind, apiVersion } = selected.executor.manifest(selected.template);
  return { kind, apiVersion };
}

export function isFinished(ref: TaskRef): boolean {
  return ref.finishTimestamp !== undefined;
}

export function isCreateRequested(ref: TaskRef): boolean {
  return ref.status.reason === CREATE_REQUESTED;
}

export function indexJson(ref: TaskRef): string {
  return canonicalIndexJson(ref.parallelIndex as ParallelIndex);
}

export interface MergedRefs {
  readonly refs: TaskRef[];
  /** Objects observed under the name of a task that had already finished: not this run's attempts. */
  readonly strays: ObservedTask[];
}

/**
 * A finished ref is a record: it never changes again. An object seen under its name later is the
 * same task only if it is the same object (uid; creationTimestamp for refs written before uids were
 * kept); any other object is a stray, reported and stopped, never merged into the record.
 */
export function mergeTaskRefs(previous: readonly TaskRef[], observed: readonly ObservedTask[], kind: TaskKind, now: Millis, history: FoldedHistory = NO_HISTORY): MergedRefs {
  const previousByName = new Map(previous.map((ref) => [ref.name, ref]));
  const refs: TaskRef[] = [];
  const strays: ObservedTask[] = [];
  const seen = new Set<string>();
  for (const task of observed) {
    const folded = foldedAttempt(history.folded, task.index, task.retryIndex);
    if (folded) {
      if (isFoldedStray(task, folded, history.strays)) strays.push(task);
      continue;
    }
    const before = previousByName.get(task.name);
    const packed = before !== undefined && history.packed.has(before.name);
    if (packed && isPackedStray(before, task, history.strays)) {
      strays.push(task);
      continue;
    }
    if (before && isFinished(before)) {
      if (!isSameObject(before, task)) strays.push(task);
      continue;
    }
    if (before?.uid && task.uid && before.uid !== task.uid) {
      // Deleted and re-created between two looks: the task's own object is gone, this one is a stray.
      strays.push(task);
      continue;
    }
    seen.add(task.name);
    refs.push(observedRef(task, before, kind, now, packed));
  }
  for (const ref of previous) {
    if (seen.has(ref.name)) continue;
    refs.push(isFinished(ref) || isCreateRequested(ref) ? ref : vanishedRef(ref, now));
  }
  return { refs: sortRefs(refs), strays };
}

/** What the status keeps of finished attempts that are no longer refs. */
export interface FoldedHistory {
  readonly folded: FoldedByIndex;
  /** The uids of strays on record: they stay strays whatever they do next. */
  readonly strays: ReadonlySet<string>;
  /** Names of the refs unpacked from `status.liveTasks` (pack.ts): no uid, their group's times. */
  readonly packed: ReadonlySet<string>;
}

const NO_HISTORY: FoldedHistory = { folded: new Map(), strays: new Set(), packed: new Set() };

/**
 * A folded attempt has no uid on record: its own object had ended and was created before the
 * attempts folded with it finished; an object going, or created later, is another.
 */
function isFoldedStray(task: ObservedTask, folded: FoldedIndex, strays: ReadonlySet<string>): boolean {
  if (task.uid && strays.has(task.uid)) return true;
  if (task.observation.state !== 'Terminated') return true;
  return task.creationTimestamp !== '' && parseTime(task.creationTimestamp) > folded.lastFinish;
}

/**
 * A packed task has no uid on record: an object under its name is another if it is a stray on record
 * or was created after every task of its group was (a requested task's object comes after the request).
 */
export function isPackedStray(ref: TaskRef, task: Pick<ObservedTask, 'uid' | 'creationTimestamp'>, strays: ReadonlySet<string>): boolean {
  if (task.uid && strays.has(task.uid)) return true;
  if (isCreateRequested(ref) || task.creationTimestamp === '') return false;
  return parseTime(task.creationTimestamp) > parseTime(ref.creationTimestamp!);
}

function isSameObject(ref: TaskRef, task: ObservedTask): boolean {
  if (ref.uid && task.uid) return ref.uid === task.uid;
  return ref.creationTimestamp === (task.creationTimestamp || undefined);
}

/** Furiko's order: creationTimestamp, then name. */
export function sortRefs(refs: TaskRef[]): TaskRef[] {
  const created = (ref: TaskRef) => (ref.creationTimestamp ? parseTime(ref.creationTimestamp) : 0);
  return refs.sort((a, b) => created(a) - created(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function requestedRef(name: string, index: ParallelIndex, retryIndex: number, kind: TaskKind, now: Millis): TaskRef {
  return {
    name,
    ...kind,
    parallelIndex: indexObject(index),
    retryIndex,
    // The request time until the object's own creationTimestamp is observed.
    creationTimestamp: formatTime(now),
    status: { state: 'Starting', reason: CREATE_REQUESTED, message: 'Waiting for the created task object to be observed' },
  };
}

export function killedStatus(kill: KillRequest): TaskStatus {
  return { state: 'Terminated', result: 'Killed', reason: kill.reason, message: kill.message };
}

function observedRef(task: ObservedTask, previous: TaskRef | undefined, kind: TaskKind, now: Millis, packed: boolean): TaskRef {
  const observation = task.observation;
  // A packed ref's start is its group's latest: the object's own, when it says, is the better one.
  const [recorded, observed] = [previous?.runningTimestamp, observation.runningTimestamp];
  const runningTimestamp = (packed ? observed ?? recorded : recorded ?? observed) ?? (observation.state === 'Running' ? formatTime(now) : undefined);
  const finishTimestamp = observation.finishTimestamp ?? (observation.state === 'Terminated' ? formatTime(now) : undefined);
  const status = observedStatus(observation, previous?.killRequest);
  return compact<TaskRef>({
    name: task.name,
    kind: previous?.kind ?? kind.kind,
    apiVersion: previous?.apiVersion ?? kind.apiVersion,
    parallelIndex: indexObject(task.index),
    retryIndex: task.retryIndex,
    uid: task.uid ?? previous?.uid,
    creationTimestamp: task.creationTimestamp || undefined,
    runningTimestamp,
    finishTimestamp,
    status,
    deletedStatus: finishTimestamp ? status : previous?.deletedStatus,
    killRequest: previous?.killRequest,
    taskResult: observation.taskResult === undefined ? undefined : resultObject(observation.taskResult),
  });
}

/**
 * A stopped task reports how it was stopped (a Pod says Failed/DeadlineExceeded); the watcher's reason
 * is the one people need. A task that succeeded before the kill landed did its work: Succeeded stands.
 */
function observedStatus(observation: TaskObservation, kill: KillRequest | undefined): TaskStatus {
  if (kill && observation.state === 'Terminated' && observation.result !== 'Succeeded') return killedStatus(kill);
  return compact<TaskStatus>({ state: observation.state, result: observation.result, reason: observation.reason, message: observation.message });
}

/** The object is gone: its tombstone, else the kill the watcher asked for, else unknown. */
function vanishedRef(ref: TaskRef, now: Millis): TaskRef {
  const status = ref.deletedStatus ?? (ref.killRequest ? killedStatus(ref.killRequest) : { state: 'DeletedFinalStateUnknown' as const });
  return { ...ref, finishTimestamp: ref.finishTimestamp ?? formatTime(now), status };
}

/** Canonical form (sorted matrix keys) so that the same index always serializes the same. */
function indexObject(index: ParallelIndex): Record<string, unknown> {
  return JSON.parse(canonicalIndexJson(index)) as Record<string, unknown>;
}

/** The schema stores an object; a text or number payload (a termination message) is wrapped. */
function resultObject(payload: unknown): Record<string, unknown> {
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : { value: payload };
}

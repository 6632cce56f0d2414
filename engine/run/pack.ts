/**
 * Packing: when a run's status is still over budget after folding its finished attempts (fold.ts),
 * the tasks still going are kept as groups instead of one ref each: one `status.liveTasks` entry
 * per (attempt, state, reason, kill request), listing its indexes' positions as ranges, with the
 * latest creation, start and kill time of its members. 10,000 tasks started at once then take a few
 * hundred bytes instead of 3.5 MB.
 *
 * The planner unpacks the groups into refs before it merges observations (`unpackLiveTasks`), so it
 * decides on refs as always; each task object restores its own uid, timestamps and message. What a
 * packed task loses, and so the planner with it: its uid (an object under its name is the task if it
 * was created no later than its group's latest creation, otherwise a stray), its own create-request
 * and kill times (re-issued from the group's latest: later, never earlier) and, for a task object
 * that does not say when it started, its start (timeouts count from the group's latest start: late
 * by at most the spread of the group, never early).
 */
import { canonicalIndexJson, expandIndexes, type ParallelIndex } from '../indexes.js';
import { taskName } from '../names.js';
import type { JobRunObject, LiveTasks, TaskRef } from '../schema/resources.js';
import { compact } from './compact.js';
import { formatRanges, parseRanges } from './fold.js';
import { indexJson, isFinished, isPackedStray, requestedRef, taskKind, type TaskKind } from './task-refs.js';
import { formatTime, parseTime } from './time.js';

export interface Unpacked {
  readonly refs: TaskRef[];
  /** Names of the refs that came from a group: their uid and own times are not on record. */
  readonly names: ReadonlySet<string>;
}

/** The refs `status.liveTasks` stands for. Positions outside the index list (a foreign write) are skipped. */
export function unpackLiveTasks(groups: readonly LiveTasks[] | undefined, indexes: readonly ParallelIndex[], runName: string, kind: TaskKind): Unpacked {
  const refs: TaskRef[] = [];
  for (const group of groups ?? []) {
    const created = parseTime(group.lastCreationTime);
    for (const position of parseRanges(group.indexes, indexes.length)) {
      const index = indexes[position]!;
      const name = taskName(runName, index, group.retryIndex);
      const requested = requestedRef(name, index, group.retryIndex, kind, created);
      refs.push(
        compact<TaskRef>({
          ...requested,
          runningTimestamp: group.lastRunningTime,
          // A request's message is the planner's own: restore it, so a status unpacked below the budget is the one packed.
          status: group.status.reason === requested.status.reason ? requested.status : group.status,
          killRequest: group.killRequest,
        }),
      );
    }
  }
  return { refs, names: new Set(refs.map((ref) => ref.name)) };
}

/**
 * Whether the run's status records task `name` (created at `creationTimestamp`, uid `uid`): as a ref,
 * or packed in `status.liveTasks` under the rule above (no later than its group's latest creation, and
 * not a stray on record). For readers outside the planner, e.g. HTTP task admission.
 */
export function recordedTask(run: JobRunObject, name: string, creationTimestamp: string | undefined, uid: string | undefined): { readonly ref?: TaskRef; readonly stray: boolean } {
  const ref = run.status?.tasks?.find((t) => t.name === name);
  if (ref) return { ref, stray: ref.uid !== undefined && uid !== undefined && ref.uid !== uid };
  if (!run.status?.liveTasks?.length) return { stray: false };
  const template = run.spec.template;
  const packed = unpackLiveTasks(run.status.liveTasks, expandIndexes(template.parallelism), run.metadata.name, taskKind(template.taskTemplate)).refs.find((t) => t.name === name);
  if (!packed) return { stray: false };
  const strays = new Set((run.status.strayTasks ?? []).map((s) => s.uid));
  return { ref: packed, stray: isPackedStray(packed, { uid, creationTimestamp: creationTimestamp ?? '' }, strays) };
}

export interface Packing {
  /** The refs the status keeps: finished ones, and any whose index is not in the list or whose creation is unknown. */
  readonly refs: TaskRef[];
  readonly groups: LiveTasks[];
}

/** Packs every unfinished ref into its group; groups come in a fixed order so that packing again gives the same status. */
export function packLiveTasks(refs: readonly TaskRef[], indexes: readonly ParallelIndex[]): Packing {
  const positions = new Map(indexes.map((index, position) => [canonicalIndexJson(index), position]));
  const groups = new Map<string, { positions: number[]; members: TaskRef[] }>();
  const kept: TaskRef[] = [];
  for (const ref of refs) {
    const position = positions.get(indexJson(ref));
    if (isFinished(ref) || position === undefined || ref.creationTimestamp === undefined) {
      kept.push(ref);
      continue;
    }
    const key = groupKey(ref);
    const group = groups.get(key) ?? { positions: [], members: [] };
    group.positions.push(position);
    group.members.push(ref);
    groups.set(key, group);
  }
  const packed = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, group]) => liveGroup(group.positions, group.members));
  return { refs: kept, groups: packed };
}

/** Members of a group differ only in their index and their times. */
function groupKey(ref: TaskRef): string {
  const { state, result, reason } = ref.status;
  return JSON.stringify([ref.retryIndex, state, result ?? '', reason ?? '', ref.runningTimestamp !== undefined, ref.killRequest?.reason ?? '', ref.killRequest?.message ?? '']);
}

function liveGroup(positions: number[], members: readonly TaskRef[]): LiveTasks {
  const first = members[0]!;
  const latestOf = (times: (string | undefined)[]) => {
    const millis = times.filter((time): time is string => time !== undefined).map(parseTime);
    return millis.length ? formatTime(Math.max(...millis)) : undefined;
  };
  const { state, result, reason } = first.status;
  const killTime = latestOf(members.map((ref) => ref.killRequest?.timestamp));
  return compact<LiveTasks>({
    indexes: formatRanges(positions.sort((a, b) => a - b)),
    retryIndex: first.retryIndex,
    status: compact({ state, result, reason }),
    lastCreationTime: latestOf(members.map((ref) => ref.creationTimestamp))!,
    lastRunningTime: latestOf(members.map((ref) => ref.runningTimestamp)),
    killRequest: first.killRequest && killTime ? { reason: first.killRequest.reason, message: first.killRequest.message, timestamp: killTime } : undefined,
  });
}

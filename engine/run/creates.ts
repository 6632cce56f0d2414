/**
 * Which tasks to create now (Furiko's ComputeMissingIndexesForCreation, reference/furiko.md §4): an
 * index with no task going and no result yet gets its next attempt, its retry delay (backoff.ts in
 * engine/retry) after the index's latest finish. Each request is recorded as a ref, so planning again before the object is
 * observed does not create it twice; a request still unobserved a minute later is issued again, and
 * one the runtime says it never issued (it crashed or lost its Lease after recording it) at once.
 */
import type { ParallelIndex } from '../indexes.js';
import { indexNamePart, taskName } from '../names.js';
import type { TaskRef } from '../schema/resources.js';
import type { TaskCacheEntrySpec } from '../schema/cache-entry.js';
import { cachedRef, type CacheLookup } from './cache.js';
import type { IndexView, RunSummary } from './index-status.js';
import { isCreateRequested, isFinished, requestedRef, sortRefs, type TaskKind } from './task-refs.js';
import { formatTime, latest, parseTime, seconds, type Millis } from './time.js';
import type { CreateTask } from './types.js';

export const CREATE_REISSUE_SECONDS = 60;
/**
 * Creates one plan asks for at most (the Job controller's MaxPodCreateDeletePerSync): a run of 10,000
 * tasks is started over several reconciles, other runs are reconciled in between, and its status
 * grows by a bounded step. The rest follow at once (CreatePlan.more).
 */
export const MAX_CREATES_PER_PLAN = 500;

export interface CreateContext {
  readonly runName: string;
  readonly now: Millis;
  /** How long retry `retryIndex` of the index waits after the index's latest finish. */
  readonly retryDelay: (key: string, retryIndex: number) => Millis;
  /** First attempts of a Rendered run are in Git: GitOps creates them, never the watcher. */
  readonly rendered: boolean;
  readonly kind: TaskKind;
  /** False once the run is complete, killed or finished: outstanding requests are dropped. */
  readonly allowed: boolean;
  /** See RunSnapshot.issuedCreates. */
  readonly issued?: ReadonlySet<string>;
  /** A new task whose key has a fresh entry is recorded from it instead of created (cache.ts). @default - no caching */
  readonly cached?: CacheLookup;
  /** @default MAX_CREATES_PER_PLAN */
  readonly limit?: number;
}

/** A task answered from the cache. */
export interface CachedTask {
  readonly name: string;
  readonly key: string;
  readonly entry: TaskCacheEntrySpec;
}

export interface IssuedCreate {
  readonly create: CreateTask;
  readonly name: string;
  readonly key: string;
  /** Asked before; no new event. */
  readonly reissue: boolean;
}

/** A retry waiting for its delay. */
export interface DeferredRetry {
  readonly key: string;
  readonly retryIndex: number;
  readonly due: Millis;
}

export interface CreatePlan {
  readonly refs: TaskRef[];
  readonly creates: IssuedCreate[];
  readonly deferred: DeferredRetry[];
  readonly wakeAt: Millis[];
  readonly cached: CachedTask[];
  /** New creates that looked in the cache and found nothing (0 without `cached`). */
  readonly misses: number;
  /** Creates were due beyond the limit: plan again at once. */
  readonly more: boolean;
}

export function decideCreates(refs: readonly TaskRef[], summary: RunSummary, context: CreateContext): CreatePlan {
  if (!context.allowed) return { refs: refs.filter((ref) => !isCreateRequested(ref)), creates: [], deferred: [], wakeAt: [], cached: [], misses: 0, more: false };
  const { now, runName, limit = MAX_CREATES_PER_PLAN } = context;
  const creates: IssuedCreate[] = [];
  const deferred: DeferredRetry[] = [];
  const wakeAt: Millis[] = [];
  const cached: CachedTask[] = [];
  let misses = 0;
  let more = false;
  const next = refs.map((ref): TaskRef => {
    if (!isCreateRequested(ref)) return ref;
    const reissueAt = parseTime(ref.creationTimestamp!) + seconds(CREATE_REISSUE_SECONDS);
    const lost = context.issued !== undefined && !context.issued.has(ref.name);
    if (reissueAt > now && !lost) {
      wakeAt.push(reissueAt);
      return ref;
    }
    if (creates.length >= limit) {
      more = true;
      return ref;
    }
    const index = ref.parallelIndex as ParallelIndex;
    creates.push({ create: { index, retryIndex: ref.retryIndex }, name: ref.name, key: indexNamePart(runName, index), reissue: true });
    wakeAt.push(now + seconds(CREATE_REISSUE_SECONDS));
    return { ...ref, creationTimestamp: formatTime(now) };
  });
  for (const view of summary.indexes) {
    const retryIndex = nextAttempt(view);
    if (retryIndex === undefined || (context.rendered && retryIndex === 0)) continue;
    // Retries wait from the index's latest attempt: a ref, unless a status over budget folded it (fold.ts).
    const lastFinish = latest(view.refs.map((ref) => parseTime(ref.finishTimestamp!))) ?? view.folded?.lastFinish;
    const due = lastFinish === undefined ? now : lastFinish + context.retryDelay(view.key, retryIndex);
    if (due > now) {
      deferred.push({ key: view.key, retryIndex, due });
      wakeAt.push(due);
      continue;
    }
    if (creates.length >= limit) {
      more = true;
      break;
    }
    const name = taskName(runName, view.index, retryIndex);
    const entry = context.cached?.(view.index);
    if (entry) {
      cached.push({ name, key: view.key, entry });
      next.push(cachedRef(name, view.index, retryIndex, context.kind, now, entry));
      continue;
    }
    if (context.cached) misses++;
    creates.push({ create: { index: view.index, retryIndex }, name, key: view.key, reissue: false });
    next.push(requestedRef(name, view.index, retryIndex, context.kind, now));
    wakeAt.push(now + seconds(CREATE_REISSUE_SECONDS));
  }
  return { refs: sortRefs(next), creates, deferred, wakeAt, cached, misses, more };
}

/** The next retry index, if the index needs one: nothing going, no result (succeeded, or failed: out of attempts or stopped by a rule). */
function nextAttempt(view: IndexView): number | undefined {
  if (view.result !== undefined || view.refs.some((ref) => !isFinished(ref))) return undefined;
  return view.refs.reduce((max, ref) => Math.max(max, ref.retryIndex + 1), view.folded?.attempts ?? 0);
}

/**
 * The pure heart of the watcher: given a JobRun (with the status it last wrote) and what its task
 * objects look like now, decide the new status and what to do. No clocks, no network: `now` and
 * the observations come in, a plan goes out, and the watcher's runtime carries it out.
 */
import type { TaskObservation } from '../executors/types.js';
import type { ParallelIndex } from '../indexes.js';
import type { TaskCacheEntrySpec } from '../schema/cache-entry.js';
import type { ConcurrencyPolicy, JobRunObject, JobRunStatus } from '../schema/resources.js';
import type { CachedTask } from './creates.js';

/** A task object of the run as it is now in the cluster. */
export interface ObservedTask {
  readonly name: string;
  readonly index: ParallelIndex;
  readonly retryIndex: number;
  /** metadata.uid: tells a finished task's object from a new one under the same name. */
  readonly uid?: string;
  readonly creationTimestamp: string;
  readonly observation: TaskObservation;
  /** The watcher created it (retries, Deferred runs); false for first attempts GitOps applied. */
  readonly createdByWatcher: boolean;
}

/** The other runs of the same JobConfig, for Deferred runs' concurrency policy. */
export interface ConcurrencyContext {
  readonly policy: ConcurrencyPolicy;
  readonly maxConcurrency: number;
  /** Runs of the config that started and have not finished, this one excluded. */
  readonly activeRuns: number;
  /** Queued runs of the config created before this one (they start first). */
  readonly queuedAhead: number;
}

export interface RunSnapshot {
  readonly run: JobRunObject;
  /** Every live task object labelled with this run. */
  readonly tasks: readonly ObservedTask[];
  readonly now: Date;
  /** Only needed for Deferred runs that have not started. */
  readonly concurrency?: ConcurrencyContext;
  /**
   * The creates this runtime has issued since it took over (names). A recorded request it did not
   * issue (a crash or a lost Lease after the status write, before the create) is issued again at
   * once instead of after CREATE_REISSUE_SECONDS. @default - unknown: every request waits
   */
  readonly issuedCreates?: ReadonlySet<string>;
  /**
   * A task object of the run cannot be made, and retrying cannot change that (a render error, 422
   * Invalid, 403 from admission): the run ends in AdmissionError, as in Furiko. The event says
   * `eventMessage` when the message carries values (they may be option values).
   */
  readonly rejection?: { readonly reason: string; readonly message: string; readonly eventMessage?: string };
  /**
   * Fold finished attempts once the status is larger than this (fold.ts); tests set 0 to fold at
   * every plan. @default FOLD_THRESHOLD_BYTES
   */
  readonly foldAboveBytes?: number;
  /**
   * Still larger than this once folded: fold the latest attempts of indexes waiting to retry too and
   * pack the tasks still going (pack.ts), which costs timing precision; tests set 0 to pack at every
   * plan, Infinity never to. @default FOLD_THRESHOLD_BYTES
   */
  readonly packAboveBytes?: number;
  /**
   * Creates one plan asks for at most; the rest are planned again at once (`requeueAt` is now).
   * @default MAX_CREATES_PER_PLAN - the Job controller's bound per sync; tests of other bounds raise it
   */
  readonly createLimit?: number;
  /**
   * The run uses its JobConfig's cache (engine/cache/entries.ts `cacheApplies`): its successes become
   * entries, and once `entries` (the config's) are given, new tasks with a fresh entry are answered
   * from it instead of created. @default - no caching
   */
  readonly cache?: { readonly entries?: readonly TaskCacheEntrySpec[] };
  /** Not admitted yet (engine/run/admission.ts): a run that has not started waits, queued, until then. */
  readonly hold?: { readonly reason: string; readonly message: string; readonly until: Date };
}

export interface CreateTask {
  readonly index: ParallelIndex;
  readonly retryIndex: number;
}

export interface KillTask {
  readonly name: string;
  /** `PendingTimeout`, `TaskTimeout`, `RunKilled`, `CompletionStrategy`, `StrayTask`. */
  readonly reason: string;
  readonly message: string;
}

export interface RunEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface RunPlan {
  /** The complete status to write (the runtime writes it only when it differs from the current one). */
  readonly status: JobRunStatus;
  /** Tasks to create now (due retries; first attempts of Deferred runs once started). */
  readonly create: readonly CreateTask[];
  /** Tasks to stop now, in place. */
  readonly kill: readonly KillTask[];
  /** What happened since the last status, for Kubernetes Events on the JobRun. */
  readonly events: readonly RunEvent[];
  /** When to look again even if nothing changes (a retry delay or a timeout falls due); none when finished. */
  readonly requeueAt?: Date;
  /** With `snapshot.cache`: tasks answered from the cache, lookups that found nothing, entries to write. */
  readonly cache?: {
    readonly hits: readonly CachedTask[];
    readonly misses: number;
    readonly record: readonly TaskCacheEntrySpec[];
  };
}

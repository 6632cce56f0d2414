/**
 * Which runs of a JobConfig count against its concurrency limit, and where a waiting Deferred run
 * stands: shared by the watcher (may this run start?) and the JobConfig's status (active, queued).
 */
import type { JobConfigObject, JobRunObject } from '../schema/resources.js';
import { TERMINAL_PHASES } from './phase.js';
import type { ConcurrencyContext } from './types.js';

/**
 * A run is active once it started and until it finishes. A Rendered run has started the moment it
 * exists, recorded or not: GitOps applied its first attempts along with it.
 */
export function isActiveRun(run: JobRunObject): boolean {
  return !TERMINAL_PHASES.has(run.status?.phase) && (Boolean(run.status?.startTime) || run.spec.materialization !== 'Deferred');
}

/** A Deferred run that has not started yet and has not been ended (rejected, killed). */
export function isWaitingRun(run: JobRunObject): boolean {
  return !TERMINAL_PHASES.has(run.status?.phase) && !isActiveRun(run);
}

/** The concurrency context of `run` among `runs` (any runs; those of other configs are ignored). */
export function concurrencyContext(run: JobRunObject, runs: readonly JobRunObject[], config: JobConfigObject | undefined): ConcurrencyContext {
  const siblings = runs.filter(
    (r) => r.metadata.namespace === run.metadata.namespace && r.spec.configName === run.spec.configName && r.metadata.name !== run.metadata.name,
  );
  const createdBefore = (r: JobRunObject) =>
    (r.metadata.creationTimestamp ?? '') < (run.metadata.creationTimestamp ?? '') ||
    (r.metadata.creationTimestamp === run.metadata.creationTimestamp && r.metadata.name < run.metadata.name);
  return {
    policy: run.spec.concurrencyPolicy ?? config?.spec.concurrency.policy ?? 'Allow',
    maxConcurrency: config?.spec.concurrency.maxConcurrency ?? 1,
    activeRuns: siblings.filter(isActiveRun).length,
    queuedAhead: siblings.filter((r) => isWaitingRun(r) && createdBefore(r)).length,
  };
}

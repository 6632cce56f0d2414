/**
 * A JobConfig's status from its runs (Furiko's JobConfig status): active and queued runs, the last
 * start, and a state. Written by the watcher whenever one of its runs starts or finishes.
 */
import { compact } from './run/compact.js';
import { stampConditions } from './run/kstatus.js';
import { isActiveRun, isWaitingRun } from './run/concurrency.js';
import type { JobConfigObject, JobConfigStatus, JobRunObject } from './schema/resources.js';

type RunReference = NonNullable<JobConfigStatus['activeRuns']>[number];

export function jobConfigStatus(config: JobConfigObject, runs: readonly JobRunObject[], now: Date): JobConfigStatus {
  const mine = runs
    .filter((run) => run.spec.configName === config.metadata.name && run.metadata.namespace === config.metadata.namespace)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const active = mine.filter(isActiveRun);
  const queued = mine.filter(isWaitingRun);
  const starts = mine.map((run) => run.status?.startTime).filter((t): t is string => Boolean(t)).sort();
  const cron = config.spec.schedule?.cron;
  // Furiko's order: executing beats queued beats the schedule's state.
  const state = active.length ? 'Executing' : queued.length ? 'JobQueued' : cron ? (config.spec.schedule?.disabled ? 'ReadyDisabled' : 'ReadyEnabled') : 'Ready';
  const generation = config.metadata.generation;
  return compact({
    state,
    active: active.length,
    queued: queued.length,
    activeRuns: active.map(reference),
    queuedRuns: queued.map(reference),
    lastExecuted: starts.at(-1),
    observedGeneration: generation,
    // A definition has nothing to wait for: it is Ready once the watcher has seen it (kstatus Current).
    conditions: stampConditions([{ type: 'Ready', status: 'True', reason: state, message: `${active.length} active, ${queued.length} queued run(s)` }], {
      previous: config.status?.conditions,
      generation,
      now: now.toISOString(),
    }),
  });
}

function reference(run: JobRunObject): RunReference {
  return compact({ name: run.metadata.name, phase: run.status?.phase, startTime: run.status?.startTime });
}

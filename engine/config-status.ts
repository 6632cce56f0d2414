/**
 * A JobConfig's status from its runs (Furiko's JobConfig status): active and queued runs, the last
 * start, and a state. Written by the watcher whenever one of its runs starts or finishes.
 */
import { compact } from './run/compact.js';
import { stampConditions } from './run/kstatus.js';
import { isActiveRun, isWaitingRun } from './run/concurrency.js';
import { isSchedulePaused, scheduleTimeOf } from './schedule/metadata.js';
import { compileSchedule, nextRunTime } from './schedule/schedule.js';
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
  const state = active.length ? 'Executing' : queued.length ? 'JobQueued' : cron ? (config.spec.schedule?.disabled || isSchedulePaused(config) ? 'ReadyDisabled' : 'ReadyEnabled') : 'Ready';
  const generation = config.metadata.generation;
  return compact({
    state,
    active: active.length,
    queued: queued.length,
    activeRuns: active.map(reference),
    queuedRuns: queued.map(reference),
    lastExecuted: starts.at(-1),
    ...scheduleStatus(config, mine, now),
    observedGeneration: generation,
    // A definition has nothing to wait for: it is Ready once the watcher has seen it (kstatus Current).
    conditions: stampConditions([{ type: 'Ready', status: 'True', reason: state, message: `${active.length} active, ${queued.length} queued run(s)` }], {
      previous: config.status?.conditions,
      generation,
      now: now.toISOString(),
    }),
  });
}

/**
 * Furiko's lastScheduled (the newest `schedule-time` of the config's runs, kept once its runs are
 * gone), when the schedule next runs (absent when disabled, paused or over), and whether it is paused.
 */
function scheduleStatus(config: JobConfigObject, runs: readonly JobRunObject[], now: Date): Pick<JobConfigStatus, 'lastScheduled' | 'nextScheduled' | 'schedulePaused'> {
  const spec = config.spec.schedule;
  if (!spec) return {};
  const times = runs.map(scheduleTimeOf).filter((t): t is number => t !== undefined);
  const previous = config.status?.lastScheduled ? Date.parse(config.status.lastScheduled) : undefined;
  const last = Math.max(...times, previous ?? -Infinity);
  const paused = isSchedulePaused(config);
  const { schedule } = compileSchedule(spec, config.metadata.namespace ?? '', config.metadata.name);
  const next = schedule && !schedule.disabled && !paused ? nextRunTime(schedule, Math.max(now.getTime(), Number.isFinite(last) ? last : 0)) : undefined;
  return {
    ...(Number.isFinite(last) && { lastScheduled: new Date(last).toISOString().replace('.000Z', 'Z') }),
    ...(next !== undefined && { nextScheduled: new Date(next).toISOString().replace('.000Z', 'Z') }),
    ...(paused && { schedulePaused: true }),
  };
}

function reference(run: JobRunObject): RunReference {
  return compact({ name: run.metadata.name, phase: run.status?.phase, startTime: run.status?.startTime });
}

/**
 * The scheduler: creates the runs of every JobConfig with an enabled schedule when they fall due
 * (reference/furiko.md §7.4), and keeps its history bounded. The engine (engine/schedule) decides
 * what is due; this file only acts, on the watcher's caches and clock.
 *
 * - A scheduled run is a Deferred JobRun `type: Scheduled` named `<config>-<unixSeconds>` with the
 *   option defaults, owned by the JobConfig (Argo CD shows it as the config's child and never prunes
 *   it; Flux never touches it). The name is the due time, so a restarted watcher, a second replica or
 *   a retried pass can only ever create it once (AlreadyExists is success).
 * - One pass looks at every scheduled JobConfig; a timer on the watcher's clock wakes the next pass
 *   at the earliest next due time (Furiko's heap, without its 1 s tick); any JobConfig change and any
 *   run finishing wake one too.
 * - Memory per JobConfig is where to look from. A new scheduler (start, new leader) starts from
 *   the last schedule time (the newest run's `taskplane.dev/schedule-time`, or status.lastScheduled),
 *   no further back than the downtime threshold: Furiko's catch-up.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { FieldError } from '../engine/errors.js';
import { buildRun } from '../engine/run-object.js';
import { TERMINAL_PHASES } from '../engine/run/index.js';
import { ANNOTATION_SCHEDULE_TIME, isSchedulePaused, scheduleTimeOf } from '../engine/schedule/metadata.js';
import { compileSchedule, dueRuns, scheduledRunName, scheduleFrom, type CatchUpPolicy, type CompiledSchedule } from '../engine/schedule/schedule.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../engine/schema/resources.js';
import { timerAt, type Clock } from './clock.js';
import { ApiError, isAlreadyExists, isNotFound, type KubeClient, type KubeObject } from './kube/client.js';
import type { Reflector } from './kube/reflector.js';

type RunObject = JobRunObject & KubeObject;
type ConfigObject = JobConfigObject & KubeObject;

export interface SchedulerPolicy extends CatchUpPolicy {
  /**
   * With Enqueue, a due run is skipped while this many runs of the config wait to start.
   * @default 20 - Furiko's maxEnqueuedJobs
   */
  readonly maxEnqueued?: number;
}

export interface SchedulerOptions {
  readonly client: KubeClient;
  readonly runs: Reflector<RunObject>;
  readonly configs: Reflector<ConfigObject>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy?: SchedulerPolicy;
  /** Only the leader creates and deletes runs. */
  isLeader(): boolean;
  recordEvent(object: RunObject | ConfigObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  /** Asks for the config's status to be written again: its last and next times or its pause changed. */
  refreshStatus?(config: ConfigObject): void;
}

export const DEFAULT_MAX_ENQUEUED = 20;
/** Scheduled runs kept per JobConfig, like a CronJob's successfulJobsHistoryLimit and failedJobsHistoryLimit. */
export const DEFAULT_SUCCEEDED_HISTORY = 3;
export const DEFAULT_FAILED_HISTORY = 1;
/** A pass that failed (API server unavailable) is retried after this long. */
const RETRY_MS = 1000;

interface ConfigState {
  /** The uid and schedule this state was computed for: a change starts over (no back-scheduling). */
  readonly key: string;
  readonly schedule: CompiledSchedule;
  /** Due times after this have not been handled. */
  from: number;
  next?: number;
}

export interface SchedulerEvents {
  /** A scheduled run was created: its name, due time and when the create returned (clock time). */
  created: [run: { readonly name: string; readonly dueMs: number; readonly createdAt: Date }];
}

export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly states = new Map<string, ConfigState>();
  private readonly invalid = new Map<string, string>();
  /** Runs created here and not yet seen in the cache: `<namespace>/<run>` → the config's key. */
  private readonly created = new Map<string, string>();
  private cancelTimer?: () => void;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private retryAt?: number;

  constructor(private readonly options: SchedulerOptions) {
    super();
  }

  start(): void {
    const { runs, configs } = this.options;
    configs.on('add', () => this.wake());
    configs.on('update', (config, old) => {
      if (isSchedulePaused(config) !== isSchedulePaused(old)) this.options.refreshStatus?.(config);
      this.wake();
    });
    configs.on('delete', (config) => {
      this.states.delete(keyOf(config));
      this.wake();
    });
    runs.on('add', (run) => this.created.delete(`${run.metadata.namespace ?? ''}/${run.metadata.name}`));
    // A finished run frees a slot and may push another out of the history.
    runs.on('update', (run, old) => {
      if (run.status?.phase !== old.status?.phase && TERMINAL_PHASES.has(run.status?.phase)) this.wake();
    });
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.running;
  }

  /** Runs a pass now (or right after the current one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Resolves once no pass is running or about to run (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** When the next pass is due (tests, metrics). */
  get nextWake(): Date | undefined {
    const next = this.earliestDue();
    return next === undefined ? undefined : new Date(next);
  }

  private async pass(): Promise<void> {
    this.retryAt = undefined;
    if (!this.options.isLeader()) {
      // A new leader starts from the cluster's state, not from what this replica remembered.
      this.states.clear();
    } else {
      const live = new Set<string>();
      for (const config of this.options.configs.list()) {
        live.add(keyOf(config));
        if (this.stopped) return;
        try {
          await this.syncConfig(config);
        } catch (error) {
          this.retryAt = this.options.clock.now().getTime() + RETRY_MS;
          this.options.logger.warn({ config: keyOf(config), err: (error as Error).message }, 'scheduling failed; will retry');
        }
      }
      for (const key of this.states.keys()) if (!live.has(key)) this.states.delete(key);
    }
    this.arm();
  }

  private arm(): void {
    this.cancelTimer?.();
    const next = this.earliestDue();
    if (next === undefined || this.stopped) return;
    this.cancelTimer = timerAt(this.options.clock, new Date(next), () => this.wake());
  }

  private earliestDue(): number | undefined {
    let earliest = this.retryAt;
    for (const state of this.states.values()) {
      if (state.next !== undefined && (earliest === undefined || state.next < earliest)) earliest = state.next;
    }
    return earliest;
  }

  private async syncConfig(config: ConfigObject): Promise<void> {
    const key = keyOf(config);
    const spec = config.spec.schedule;
    if (!spec || config.metadata.deletionTimestamp) {
      this.states.delete(key);
      return;
    }
    const now = this.options.clock.now().getTime();
    const stateKey = JSON.stringify([config.metadata.uid, spec]);
    let state = this.states.get(key);
    if (state?.key !== stateKey) {
      const { schedule, errors } = compileSchedule(spec, config.metadata.namespace ?? '', config.metadata.name);
      if (!schedule) {
        this.states.delete(key);
        if (this.invalid.get(key) !== stateKey) {
          this.invalid.set(key, stateKey);
          await this.options.recordEvent(config, 'Warning', 'InvalidSchedule', `Cannot schedule: ${withoutValues(errors)}`);
        }
        return;
      }
      this.invalid.delete(key);
      // A changed schedule (seen by this scheduler) counts from now, like Furiko's schedule.lastUpdated.
      const from = scheduleFrom(schedule, { now, lastScheduled: this.lastScheduled(config), ...(state && { lastUpdated: now }) }, this.options.policy);
      state = { key: stateKey, schedule, from };
      this.states.set(key, state);
    }
    if (state.schedule.disabled || isSchedulePaused(config)) {
      // Resuming does not back-schedule the paused time.
      state.from = now;
      state.next = undefined;
      await this.pruneHistory(config);
      return;
    }
    const result = dueRuns(state.schedule, state.from, now, this.options.policy);
    for (const due of result.due) {
      if (this.stopped) return;
      await this.createRun(config, due);
      state.from = due;
    }
    if (result.skipped > 0) {
      const max = this.options.policy?.maxMissedSchedules ?? 5;
      await this.options.recordEvent(config, 'Warning', 'MissedSchedules', `Skipped ${result.skipped} missed schedule(s): more than maxMissedSchedules (${max}) were due at once`);
    }
    state.from = result.from;
    state.next = result.next;
    if (result.due.length > 0 || result.skipped > 0) this.options.refreshStatus?.(config);
    await this.pruneHistory(config);
  }

  private async createRun(config: ConfigObject, dueMs: number): Promise<void> {
    const namespace = config.metadata.namespace;
    const name = scheduledRunName(config.metadata.name, dueMs);
    if (this.options.runs.get(namespace, name)) return;
    const dueText = new Date(dueMs).toISOString();
    const { policy, maxConcurrency = 1 } = config.spec.concurrency;
    // Runs this scheduler created that the cache does not show yet count as queued: without them a
    // catch-up pass under Forbid would create several runs before the first one is seen.
    const unseen = [...this.created].filter(([run, owner]) => owner === keyOf(config) && !this.options.runs.get(namespace, run.slice(run.indexOf('/') + 1))).length;
    const unfinishedRuns = this.runsOf(config).filter((r) => !TERMINAL_PHASES.has(r.status?.phase));
    const unfinished = unfinishedRuns.length + unseen;
    const queued = unfinishedRuns.filter((r) => !r.status?.startTime).length + unseen;
    if (policy === 'Forbid' && unfinished >= maxConcurrency) {
      await this.options.recordEvent(config, 'Warning', 'ScheduleSkipped', `Skipped creating run for ${dueText} due to concurrency policy Forbid: ${unfinished} unfinished run(s), maxConcurrency ${maxConcurrency}`);
      return;
    }
    const maxEnqueued = this.options.policy?.maxEnqueued ?? DEFAULT_MAX_ENQUEUED;
    if (policy === 'Enqueue' && queued >= maxEnqueued) {
      await this.options.recordEvent(config, 'Warning', 'ScheduleSkipped', `Skipped creating run for ${dueText}: ${queued} run(s) already queued (maxEnqueued ${maxEnqueued})`);
      return;
    }
    const { run, errors } = buildRun({ name: config.metadata.name, namespace, spec: config.spec }, { name, materialization: 'Deferred' });
    if (errors.length > 0) {
      // Like Furiko's CreateJobFailed: retrying cannot help until the JobConfig changes. No option values in events.
      await this.options.recordEvent(config, 'Warning', 'CreateRunFailed', `Cannot create run for ${dueText}: ${withoutValues(errors)}`);
      return;
    }
    const object: KubeObject = {
      ...run,
      metadata: {
        ...run.metadata,
        annotations: { [ANNOTATION_SCHEDULE_TIME]: String(Math.floor(dueMs / 1000)) },
        ownerReferences: [{ apiVersion: GROUP_VERSION, kind: 'JobConfig', name: config.metadata.name, uid: config.metadata.uid!, controller: true }],
      },
      spec: { ...run.spec, type: 'Scheduled', concurrencyPolicy: policy },
    };
    try {
      await this.options.client.create(object);
      this.created.set(`${namespace ?? ''}/${name}`, keyOf(config));
      this.emit('created', { name, dueMs, createdAt: this.options.clock.now() });
      this.options.logger.info({ config: keyOf(config), run: name, due: dueText }, 'created scheduled run');
    } catch (error) {
      if (isAlreadyExists(error)) return;
      if (error instanceof ApiError && error.status === 422) {
        await this.options.recordEvent(config, 'Warning', 'CreateRunFailed', `The API server rejected run ${name}: ${error.message}`);
        return;
      }
      throw error;
    }
  }

  /** Deletes finished scheduled runs past the history limits, oldest first; never a run from Git. */
  private async pruneHistory(config: ConfigObject): Promise<void> {
    const history = config.spec.schedule?.history;
    const limits = { Succeeded: history?.succeeded ?? DEFAULT_SUCCEEDED_HISTORY, other: history?.failed ?? DEFAULT_FAILED_HISTORY };
    const finished = this.runsOf(config)
      .filter((run) => isScheduledRunOf(run, config) && TERMINAL_PHASES.has(run.status?.phase) && !run.metadata.deletionTimestamp)
      .sort((a, b) => scheduleTimeOf(b)! - scheduleTimeOf(a)!);
    const succeeded = finished.filter((r) => r.status?.phase === 'Succeeded');
    const others = finished.filter((r) => r.status?.phase !== 'Succeeded');
    for (const run of [...succeeded.slice(limits.Succeeded), ...others.slice(limits.other)]) {
      await this.options.client.delete(run, run.metadata.uid).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      this.options.logger.info({ config: keyOf(config), run: run.metadata.name }, 'deleted scheduled run past the history limit');
    }
  }

  private runsOf(config: ConfigObject): RunObject[] {
    return this.options.runs.list().filter((r) => r.metadata.namespace === config.metadata.namespace && r.spec.configName === config.metadata.name);
  }

  /** Furiko's lastScheduled: the newest schedule time of the config's runs, or the status's. */
  private lastScheduled(config: ConfigObject): number | undefined {
    const times = this.runsOf(config).map(scheduleTimeOf).filter((t): t is number => t !== undefined);
    const status = config.status?.lastScheduled ? Date.parse(config.status.lastScheduled) : undefined;
    if (status !== undefined) times.push(status);
    return times.length > 0 ? Math.max(...times) : undefined;
  }
}

const keyOf = (config: ConfigObject) => `${config.metadata.namespace ?? ''}/${config.metadata.name}`;

/**
 * A run the scheduler created: owned (as controller) by this JobConfig's uid, named for its schedule
 * time. A run applied from Git has no owner reference to the JobConfig (GitOps writes what is in Git),
 * so history limits can never delete it.
 */
export function isScheduledRunOf(run: RunObject, config: ConfigObject): boolean {
  const due = scheduleTimeOf(run);
  return (
    due !== undefined &&
    run.spec.type === 'Scheduled' &&
    run.metadata.name === scheduledRunName(config.metadata.name, due) &&
    (run.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === 'JobConfig' && o.uid === config.metadata.uid)
  );
}

/** Fields and messages only: events must not carry option values. */
function withoutValues(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

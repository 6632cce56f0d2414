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
import { isActiveRun, isWaitingRun, TERMINAL_PHASES } from '../engine/run/index.js';
import { ANNOTATION_SCHEDULE_TIME, isSchedulePaused, scheduleTimeOf } from '../engine/schedule/metadata.js';
import { compileSchedule, dueRuns, scheduledRunName, scheduleFrom, type CatchUpPolicy, type CompiledSchedule } from '../engine/schedule/schedule.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../engine/schema/resources.js';
import { configBucket } from './cache-indexes.js';
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
  /** Indexed by runConfigBucket (cache-indexes.ts): the scheduler reads one config's runs at a time. */
  readonly runs: Reflector<RunObject>;
  readonly configs: Reflector<ConfigObject>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy?: SchedulerPolicy;
  /** Only the owner of a config (the leader, or its shard's holder) creates and deletes its runs. */
  owns(namespace: string | undefined, config: string): boolean;
  recordEvent(object: RunObject | ConfigObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
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
  /** Disabled or paused when last looked at. */
  paused?: boolean;
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
  /** The cache's runs by config key (`<namespace>/<config>`), so a pass never scans every run. */
  /** Configs to look at in the next pass besides those due; `all` after a start or a leadership change. */
  private readonly dirty = new Set<string>();
  private all = true;
  private cancelTimer?: () => void;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    super();
  }

  start(): void {
    const { runs, configs } = this.options;
    configs.on('add', (config) => this.wake(keyOf(config)));
    configs.on('update', (config, old) => {
      if (isSchedulePaused(config) !== isSchedulePaused(old)) this.options.refreshStatus?.(config);
      this.wake(keyOf(config));
    });
    configs.on('delete', (config) => {
      this.states.delete(keyOf(config));
      this.invalid.delete(keyOf(config));
    });
    runs.on('add', (run) => this.created.delete(`${run.metadata.namespace ?? ''}/${run.metadata.name}`));
    runs.on('update', (run, old) => {
      // A finished run frees a slot and may push another out of the history.
      if (run.status?.phase !== old.status?.phase && TERMINAL_PHASES.has(run.status?.phase)) this.wake(configKeyOf(run));
    });
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.running;
  }

  /**
   * Runs a pass now (or right after the current one) for the config `key`, for every config without
   * one (a new leader), and always for the configs whose next run is due.
   */
  wake(key?: string): void {
    if (this.stopped) return;
    if (key === undefined) this.all = true;
    else if (key !== DUE_ONLY) this.dirty.add(key);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake(DUE_ONLY);
      }
    });
  }

  /** Resolves once no pass is running or about to run (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Forgets the configs this replica no longer owns: a new owner (maybe this replica again later)
   * starts from the cluster's state, not from what was remembered here.
   */
  dropUnowned(): void {
    for (const key of this.states.keys()) if (!this.options.owns(...splitKey(key))) this.states.delete(key);
  }

  private async pass(): Promise<void> {
    this.dropUnowned();
    const now = this.options.clock.now().getTime();
    const keys = this.all ? this.options.configs.list().map(keyOf) : [...this.dirty];
    for (const [key, state] of this.states) if (state.next !== undefined && state.next <= now) keys.push(key);
    this.all = false;
    this.dirty.clear();
    for (const key of new Set(keys)) {
      if (this.stopped) return;
      const config = this.options.configs.get(...splitKey(key));
      if (!config || !this.options.owns(...splitKey(key))) {
        this.states.delete(key);
        continue;
      }
      try {
        await this.syncConfig(config);
      } catch (error) {
        this.retry(key);
        this.options.logger.warn({ config: key, err: (error as Error).message }, 'scheduling failed; will retry');
      }
    }
    this.arm();
  }

  /** Looks at `key` again in RETRY_MS (the API server was unavailable). */
  private retry(key: string): void {
    const at = this.options.clock.now().getTime() + RETRY_MS;
    const state = this.states.get(key);
    if (state) state.next = Math.min(state.next ?? at, at);
    else this.dirty.add(key);
  }

  private arm(): void {
    this.cancelTimer?.();
    const next = this.dirty.size > 0 ? this.options.clock.now().getTime() + RETRY_MS : this.earliestDue();
    if (next === undefined || this.stopped) return;
    this.cancelTimer = timerAt(this.options.clock, new Date(next), () => this.wake(DUE_ONLY));
  }

  private earliestDue(): number | undefined {
    let earliest: number | undefined;
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
          this.options.recordEvent(config, 'Warning', 'InvalidSchedule', `Cannot schedule: ${withoutValues(errors)}`);
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
      state.paused = true;
      state.next = undefined;
      await this.pruneHistory(config);
      return;
    }
    if (state.paused) {
      // Resuming does not back-schedule the paused time.
      state.paused = false;
      state.from = now;
    }
    const result = dueRuns(state.schedule, state.from, now, this.options.policy);
    for (const due of result.due) {
      if (this.stopped) return;
      await this.createRun(config, due);
      state.from = due;
    }
    if (result.skipped > 0) {
      const max = this.options.policy?.maxMissedSchedules ?? 5;
      this.options.recordEvent(config, 'Warning', 'MissedSchedules', `Skipped ${result.skipped} missed schedule(s): more than maxMissedSchedules (${max}) were due at once`);
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
    const unfinished = this.runsOf(config).filter((r) => isActiveRun(r) || isWaitingRun(r)).length + unseen;
    const queued = this.runsOf(config).filter(isWaitingRun).length + unseen;
    if (policy === 'Forbid' && unfinished >= maxConcurrency) {
      this.options.recordEvent(config, 'Warning', 'ScheduleSkipped', `Skipped creating run for ${dueText} due to concurrency policy Forbid: ${unfinished} unfinished run(s), maxConcurrency ${maxConcurrency}`);
      return;
    }
    const maxEnqueued = this.options.policy?.maxEnqueued ?? DEFAULT_MAX_ENQUEUED;
    if (policy === 'Enqueue' && queued >= maxEnqueued) {
      this.options.recordEvent(config, 'Warning', 'ScheduleSkipped', `Skipped creating run for ${dueText}: ${queued} run(s) already queued (maxEnqueued ${maxEnqueued})`);
      return;
    }
    const { run, errors } = buildRun({ name: config.metadata.name, namespace, spec: config.spec }, { name, materialization: 'Deferred' });
    if (errors.length > 0) {
      // Like Furiko's CreateJobFailed: retrying cannot help until the JobConfig changes. No option values in events.
      this.options.recordEvent(config, 'Warning', 'CreateRunFailed', `Cannot create run for ${dueText}: ${withoutValues(errors)}`);
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
        this.options.recordEvent(config, 'Warning', 'CreateRunFailed', `The API server rejected run ${name}: ${error.message}`);
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
    return this.options.runs.byIndex(configBucket(config.metadata.namespace, config.metadata.name));
  }

  /** Furiko's lastScheduled: the newest schedule time of the config's runs, or the status's. */
  private lastScheduled(config: ConfigObject): number | undefined {
    const times = this.runsOf(config).map(scheduleTimeOf).filter((t): t is number => t !== undefined);
    const status = config.status?.lastScheduled ? Date.parse(config.status.lastScheduled) : undefined;
    if (status !== undefined) times.push(status);
    return times.length > 0 ? Math.max(...times) : undefined;
  }
}

const keyOf = (config: ConfigObject) => configBucket(config.metadata.namespace, config.metadata.name);
const configKeyOf = (run: RunObject) => configBucket(run.metadata.namespace, run.spec.configName);
/** A wake-up for the configs that are due, and nothing else. */
const DUE_ONLY = '';

function splitKey(key: string): [string | undefined, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash) || undefined, key.slice(slash + 1)];
}

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

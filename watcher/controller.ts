/**
 * The watcher: informers (reflectors) for JobRuns, JobConfigs and the task objects of every kind in
 * use, a work queue keyed by run, and an idempotent reconcile of one run at a time that carries out
 * the engine's plan. Only the leader reconciles (with shards: only the holder of a run's shard);
 * every replica keeps its caches warm.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { LABEL_RETRY_INDEX, LABEL_RUN } from '../engine/labels.js';
import { renderTask } from '../engine/render.js';
import { jobConfigStatus } from '../engine/config-status.js';
import { concurrencyContext, planRun, TERMINAL_PHASES, withReconcileError } from '../engine/run/index.js';
import type { ConcurrencyContext, RunPlan, RunSnapshot } from '../engine/run/types.js';
import { cacheApplies } from '../engine/cache/index.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../engine/schema/resources.js';
import { formatFieldError } from '../engine/errors.js';
import type { KillAction } from '../engine/executors/types.js';
import { ApiError, isAlreadyExists, isConflict, isNotFound, KubeClient, type KubeObject } from './kube/client.js';
import { Reflector, type ReflectorOptions } from './kube/reflector.js';
import { ApiHealth, isOutage } from './api-health.js';
import { WriteExpectations } from './expectations.js';
import { classifyFailure, createRejection, type Rejection } from './failures.js';
import { ShardElector, type LeaderElectionOptions } from './shards.js';
import { ShardTerms } from './terms.js';
import { shardOf } from '../engine/shards.js';
import { replacingPatch, StatusOwnership } from './status-owner.js';
import type { WatcherMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Scheduler, type SchedulerPolicy } from './scheduler.js';
import { configBucket, runConfigBucket } from './cache-indexes.js';
import { EventRecorder } from './event-recorder.js';
import { TaskCaches } from './task-caches.js';
import { slowStart } from './slow-start.js';
import { CacheEntries } from './cache-entries.js';
import { observeTasks, ownedBy, runExecutor } from './tasks.js';
import { RunAdmission } from './admission.js';
import { BUILT_IN_TASK_RESOURCES, HTTP_TASK_RESOURCE, type TaskResource } from '../engine/task-kinds.js';
import { HTTP_TASK_KIND } from '../engine/executors/http.js';
import { HttpClient } from './http-client.js';
import { EgressPolicy, type EgressPolicyOptions } from './http-egress.js';
import { HttpRunner } from './http-runner.js';
import { admitHttpTask } from './http-admission.js';

export const FIELD_MANAGER = 'taskplane-watcher';

export interface WatcherOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: WatcherMetrics;
  /** Watch one namespace only. @default - all namespaces */
  readonly namespace?: string;
  /** Lease namespace, name and shards for leader election; none runs without election (one replica only). */
  readonly leaderElection?: LeaderElectionOptions;
  /** Concurrent reconciles (of different runs). @default 2 */
  readonly workers?: number;
  /** The time every run decision reads. @default systemClock - tests and the demo set their own */
  readonly clock?: Clock;
  /** How long a reconcile waits for a task kind's cache to sync before the run reports it. @default 5000 */
  readonly taskCacheSyncTimeoutMs?: number;
  /**
   * The kinds of task object the watcher may create (`--task-resources`, from WatcherInstall's executors).
   * @default BUILT_IN_TASK_RESOURCES - Pods, Jobs and Argo Workflows; custom resources must be listed
   */
  readonly taskResources?: readonly TaskResource[];
  /** HTTP tasks, performed only when `taskResources` allows httptasks.taskplane.dev. @default - see HttpSettings */
  readonly http?: HttpSettings;
  /** Catch-up and queue limits for schedules. @default - Furiko's: 5 missed, 300 s downtime, 20 enqueued */
  readonly schedulerPolicy?: SchedulerPolicy;
}

export interface HttpSettings {
  /** Requests in flight at once (`--http-concurrency`). @default 100 */
  readonly concurrency?: number;
  /** Where requests may go (`--http-egress-hosts`, `--http-egress-cidrs`). @default - cluster Services (*.svc) only */
  readonly egress?: EgressPolicyOptions;
  /** PEM certificates trusted besides Node's roots (`--http-ca-file`, from a ConfigMap). @default - none */
  readonly ca?: string;
}

/** A reconcile that lost a race with another writer of the run re-reads it and plans again, this often. */
const CONFLICT_REPLANS = 5;
/** A worker busy with one reconcile this long is stuck: readiness says so. */
const STUCK_AFTER_MS = 60_000;

type RunObject = JobRunObject & KubeObject;
type ConfigObject = JobConfigObject & KubeObject;

/** Queue keys name the kind: runs are reconciled by their plan, configs get their status from their runs. */
const runKey = (namespace: string | undefined, name: string) => `JobRun/${namespace ?? ''}/${name}`;
const configKey = (namespace: string | undefined, name: string) => `JobConfig/${namespace ?? ''}/${name}`;

export class Watcher {
  readonly client: KubeClient;
  private readonly runs: Reflector<RunObject>;
  private readonly configs: Reflector<ConfigObject>;
  private readonly tasks: TaskCaches;
  private readonly events: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly elector?: ShardElector;
  private readonly health: ApiHealth;
  private readonly expectations = new WriteExpectations<RunObject>();
  private readonly ownership = new StatusOwnership(FIELD_MANAGER);
  /** Per run, the task creates issued in this leadership term (see RunSnapshot.issuedCreates). */
  private readonly issuedCreates = new Map<string, Set<string>>();
  private workers: Promise<void>[] = [];
  /** When each busy worker's current reconcile began. */
  private readonly busySince = new Map<number, number>();
  private stopped = false;
  private readonly clock: Clock;
  private readonly terms = new ShardTerms();
  private readonly shards: number;
  private readonly admission: RunAdmission;
  private readonly cacheEntries: CacheEntries;
  readonly scheduler: Scheduler;
  private http?: { runner: HttpRunner; client: HttpClient };

  constructor(private readonly options: WatcherOptions) {
    const { metrics } = options;
    this.clock = options.clock ?? systemClock;
    this.shards = options.leaderElection?.shards ?? 1;
    this.queue = new WorkQueue(undefined, undefined, this.clock);
    this.health = new ApiHealth(() => this.client, { onRecovered: () => this.recovered() });
    this.client = new KubeClient(options.kubeConfig, FIELD_MANAGER, (verb, resource, status) => {
      metrics.apiRequests.inc({ verb, resource, code: String(status) });
      this.health.observe(status);
    });
    this.events = new EventRecorder(this.client, this.clock, FIELD_MANAGER, options.logger);
    this.tasks = new TaskCaches(this.client, {
      namespace: options.namespace,
      syncTimeoutMs: options.taskCacheSyncTimeoutMs,
      onChange: (namespace, run) => this.queue.add(runKey(namespace, run)),
      onRetry: (kind, error, delayMs) => this.retrying(kind, error, delayMs),
    });
    const scope = { namespace: options.namespace };
    this.runs = this.reflector<RunObject>({ apiVersion: GROUP_VERSION, kind: 'JobRun', ...scope, indexBy: runConfigBucket });
    this.configs = this.reflector<ConfigObject>({ apiVersion: GROUP_VERSION, kind: 'JobConfig', ...scope });
    this.cacheEntries = new CacheEntries(this.client, metrics, options.logger);
    this.admission = new RunAdmission(this.client, (ns, name) => this.configs.get(ns, name), options.taskResources ?? BUILT_IN_TASK_RESOURCES);
    const configOf = (run: RunObject) => configKey(run.metadata.namespace, run.spec.configName);
    this.runs.on('add', (run) => {
      this.queue.add(runKey(run.metadata.namespace, run.metadata.name));
      this.http?.runner.runChanged(run.metadata.namespace, run.metadata.name);
      this.queue.add(configOf(run));
    });
    this.runs.on('delete', (run) => {
      const key = runKey(run.metadata.namespace, run.metadata.name);
      this.expectations.forget(key);
      this.ownership.forget(key);
      this.issuedCreates.delete(key);
      this.queue.add(configOf(run));
      this.wakeQueued(run);
    });
    this.runs.on('update', (run, old) => {
      const key = runKey(run.metadata.namespace, run.metadata.name);
      // Spec, deletion and status changes need another look at the run; the watcher's own status writes do not...
      const foreignStatus = !isDeepStrictEqual(run.status, old.status) && !this.ownership.isOwnVersion(key, run);
      if (run.metadata.generation !== old.metadata.generation || run.metadata.deletionTimestamp !== old.metadata.deletionTimestamp || foreignStatus) {
        this.queue.add(key);
      }
      // ...but a run that started or finished changes its config's counts,
      if (run.status?.phase !== old.status?.phase || run.status?.startTime !== old.status?.startTime) this.queue.add(configOf(run));
      // and one that finished frees a slot: once the cache says so, or the queued runs would still count it.
      if (TERMINAL_PHASES.has(run.status?.phase) && !TERMINAL_PHASES.has(old.status?.phase)) this.wakeQueued(run);
      // HttpTasks wait until their run has recorded them.
      // (Many at once are packed in liveTasks: a change there records tasks too.)
      if (!isDeepStrictEqual(run.status?.tasks, old.status?.tasks) || !isDeepStrictEqual(run.status?.liveTasks, old.status?.liveTasks)) {
        this.http?.runner.runChanged(run.metadata.namespace, run.metadata.name);
      }
    });
    this.configs.on('add', (config) => {
      this.queue.add(configKey(config.metadata.namespace, config.metadata.name));
      // Runs held while waiting for this config (admission) may start now.
      for (const run of this.configRuns(config.metadata.namespace, config.metadata.name)) {
        if (run.status?.reason === 'WaitingForConfig') {
          this.queue.add(runKey(run.metadata.namespace, run.metadata.name));
        }
      }
    });
    this.configs.on('update', (config, old) => {
      if (config.metadata.generation !== old.metadata.generation) this.queue.add(configKey(config.metadata.namespace, config.metadata.name));
    });
    this.scheduler = new Scheduler({
      client: this.client,
      runs: this.runs,
      configs: this.configs,
      clock: this.clock,
      logger: options.logger,
      ...(options.schedulerPolicy && { policy: options.schedulerPolicy }),
      owns: (namespace, config) => this.owns(shardOf(namespace, config, this.shards)),
      recordEvent: (object, type, reason, message) => this.recordEvent(object, type, reason, message),
      refreshStatus: (config) => this.queue.add(configKey(config.metadata.namespace, config.metadata.name)),
    });
    if (options.leaderElection) {
      this.elector = new ShardElector(this.client, options.leaderElection, { drain: (shard) => this.terms.drain(shard), logger: options.logger });
      this.elector.on('started', (shard) => this.gained(shard));
      this.elector.on('stopped', (shard) => this.lost(shard));
      this.heldChanged();
    } else {
      this.terms.begin(0);
      this.heldChanged();
    }
  }

  /** A shard (or the leadership) gained: everything in it may have changed while another replica held it. */
  private gained(shard: number): void {
    this.options.logger.info({ identity: this.options.leaderElection?.identity, shard, shards: this.shards }, this.shards === 1 ? 'became leader' : 'acquired shard');
    this.terms.begin(shard);
    this.heldChanged(shard, 'gained');
    for (const run of this.runs.list()) {
      const key = runKey(run.metadata.namespace, run.metadata.name);
      if (this.shardOfKey(key) !== shard) continue;
      // Creates recorded by another term's plans are not ours to wait for.
      this.issuedCreates.delete(key);
      this.ownership.forget(key);
      this.queue.add(key);
    }
    for (const config of this.configs.list()) {
      if (shardOf(config.metadata.namespace, config.metadata.name, this.shards) === shard) this.queue.add(configKey(config.metadata.namespace, config.metadata.name));
    }
    this.scheduler.wake();
    this.http?.runner.lead();
  }

  private lost(shard: number): void {
    this.options.logger.warn({ shard, shards: this.shards }, this.shards === 1 ? 'lost leadership; in-flight reconciles are aborted, reconciles pause' : 'lost shard; its in-flight reconciles are aborted');
    this.terms.end(shard, new Error(this.shards === 1 ? 'lost leadership' : `lost shard ${shard}`));
    this.heldChanged(shard, 'lost');
    this.scheduler.dropUnowned();
    this.http?.runner.abandon();
  }

  private heldChanged(shard?: number, change?: 'gained' | 'lost'): void {
    const { metrics } = this.options;
    metrics.isLeader.set(this.terms.size > 0 ? 1 : 0);
    metrics.shardsHeld.set(this.terms.size);
    if (shard !== undefined && change) metrics.shardTransitions.inc({ shard: String(shard), change });
  }

  /** The shard of a queue key: a config's own, a run's config's; undefined for a run not (or no longer) cached. */
  private shardOfKey(key: string): number | undefined {
    if (this.shards === 1) return 0;
    const [kind, namespace, name] = key.split('/') as [string, string, string];
    if (kind === 'JobConfig') return shardOf(namespace, name, this.shards);
    const run = this.runs.get(namespace || undefined, name);
    return run && shardOf(run.metadata.namespace, run.spec.configName, this.shards);
  }

  private owns(shard: number | undefined): boolean {
    return this.terms.signal(shard) !== undefined;
  }

  /** Holds the leadership, or at least one shard. */
  get isLeader(): boolean {
    return this.terms.size > 0;
  }

  /** The shards this replica acts on now. */
  get heldShards(): number[] {
    return this.terms.held();
  }

  /** Resolves once the events recorded so far are written (they are written off the reconcile path). */
  flushEvents(): Promise<void> {
    return this.events.flush();
  }

  /** Ready while the watcher can reconcile; see `readiness`. */
  ready(): boolean {
    return this.readiness().length === 0;
  }

  /**
   * Why the watcher cannot make progress now, empty when it can: caches not synced, the API server
   * unreachable, no workers, every worker stuck in one reconcile. (A task kind that cannot be
   * listed is reported on the runs that need it, not here: other runs go on.)
   */
  readiness(): string[] {
    const problems: string[] = [];
    if (!this.runs.synced || !this.configs.synced) problems.push('caches not synced');
    else if (!this.health.reachable) problems.push('API server unreachable');
    else if (this.runs.failing || this.configs.failing) problems.push('watching JobRuns or JobConfigs fails; retrying');
    else if (this.workers.length === 0) problems.push('no workers');
    const now = Date.now();
    const stuck = [...this.busySince.values()].filter((since) => now - since > STUCK_AFTER_MS).length;
    if (this.workers.length > 0 && stuck === this.workers.length) problems.push(`all ${stuck} workers busy with one reconcile for over ${STUCK_AFTER_MS / 1000}s`);
    return problems;
  }

  async start(): Promise<void> {
    const workers = this.options.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a whole number of at least 1, got ${workers}`);
    this.runs.start();
    this.configs.start();
    this.http = this.startHttp();
    this.elector?.start();
    await Promise.all([this.runs.waitForSync(), this.configs.waitForSync()]);
    this.workers = Array.from({ length: workers }, (_, id) => this.work(id));
    this.scheduler.start();
    this.options.logger.info({ runs: this.runs.list().length }, 'watcher started');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.shutdown();
    this.health.stop();
    await Promise.all([...this.workers, this.scheduler.stop()]);
    await this.http?.runner.stop();
    await this.elector?.stop();
    await this.events.stop();
    await Promise.all([this.runs.stop(), this.configs.stop(), this.tasks.stop(), this.http?.client.close()]);
  }

  /** The HTTP task runner, when the install allows HttpTasks: it follows them from the task cache. */
  private startHttp(): { runner: HttpRunner; client: HttpClient } | undefined {
    const allowed = this.options.taskResources ?? BUILT_IN_TASK_RESOURCES;
    if (!allowed.some((r) => r.group === HTTP_TASK_RESOURCE.group && r.resource === HTTP_TASK_RESOURCE.resource)) return undefined;
    const settings = this.options.http ?? {};
    const client = new HttpClient({ egress: new EgressPolicy(settings.egress), ...(settings.ca && { ca: settings.ca }) });
    // Unique per process: a restarted watcher never mistakes a dead process's request for its own.
    const identity = `${this.options.leaderElection?.identity ?? `${hostname()}-${process.pid}`}/${randomUUID().slice(0, 8)}`;
    const runner = new HttpRunner({
      client: this.client,
      tasks: this.tasks.reflector(HTTP_TASK_KIND),
      http: client,
      logger: this.options.logger,
      clock: this.clock,
      identity,
      ...(settings.concurrency !== undefined && { concurrency: settings.concurrency }),
      owns: (task) => {
        const run = this.runs.get(task.metadata.namespace, task.metadata.labels?.[LABEL_RUN] ?? '');
        return !this.stopped && run !== undefined && this.owns(shardOf(run.metadata.namespace, run.spec.configName, this.shards));
      },
      admit: (task) => {
        const run = this.runs.get(task.metadata.namespace, task.metadata.labels?.[LABEL_RUN] ?? '');
        const config = run && this.configs.get(run.metadata.namespace, run.spec.configName);
        return admitHttpTask(task, run, { jobUid: run?.metadata.uid, jobConfigUid: config?.metadata.uid });
      },
    });
    return { runner, client };
  }

  private reflector<T extends KubeObject>(options: ReflectorOptions): Reflector<T> {
    const reflector = new Reflector<T>(this.client, options);
    reflector.on('retry', (error, delayMs) => this.retrying(options.kind, error, delayMs));
    return reflector;
  }

  private retrying(kind: string, error: Error, delayMs: number): void {
    this.options.logger.warn({ kind, delayMs, err: error.message }, 'watch interrupted; retrying');
    // Answers about one kind (404, 403, 405) say nothing about the API server; no answer does.
    if (!(error instanceof ApiError) || isOutage(error.status)) this.health.markDown();
  }

  /** The API server answers again: what waits out a backoff grown during the outage goes now. */
  private recovered(): void {
    this.options.logger.info('API server reachable again; retrying failed runs now');
    this.runs.retryNow();
    this.configs.retryNow();
    this.tasks.retryNow();
    this.queue.retryFailedNow();
  }

  private async work(id: number): Promise<void> {
    for (let key = await this.queue.next(); key !== undefined; key = await this.queue.next()) {
      this.options.metrics.queueDepth.set(this.queue.length);
      const shard = this.shardOfKey(key);
      const signal = this.terms.signal(shard);
      if (!signal) {
        this.queue.done(key);
        continue;
      }
      await this.terms.track(shard!, this.handle(id, key, shard!, signal));
    }
  }

  /** One reconcile of `key`, on the term of its shard. */
  private async handle(id: number, key: string, shard: number, signal: AbortSignal): Promise<void> {
    const timer = this.options.metrics.reconcileSeconds.startTimer();
    this.busySince.set(id, Date.now());
    this.options.metrics.shardReconciles.inc({ shard: String(shard) });
    this.options.logger.debug({ key, shard }, 'reconcile begins');
    try {
      const requeueAt = key.startsWith('JobConfig/') ? await this.reconcileConfig(key, signal) : await this.reconcile(key, signal);
      this.queue.forget(key);
      if (requeueAt) this.queue.addAt(key, requeueAt);
      this.options.metrics.reconciles.inc({ outcome: 'success' });
    } catch (error) {
      this.options.metrics.reconciles.inc({ outcome: 'error' });
      if (signal.aborted) {
        // The new owner (maybe us again) starts from the caches: nothing to retry here.
        this.options.logger.warn({ run: key, err: (error as Error).message }, 'reconcile aborted: leadership or shard lost');
      } else {
        const delayMs = this.queue.addRateLimited(key);
        this.options.logger.warn({ run: key, delayMs, err: (error as Error).message }, 'reconcile failed; will retry');
        if (key.startsWith('JobRun/')) await this.reportFailure(key, error, signal);
      }
    } finally {
      this.busySince.delete(id);
      timer();
      this.queue.done(key);
      this.options.logger.debug({ key, shard }, 'reconcile ends');
    }
  }

  /** Writes a JobConfig's status (active and queued runs, last start) when it changed. */
  private async reconcileConfig(key: string, signal: AbortSignal): Promise<undefined> {
    const [, namespace, name] = key.split('/') as [string, string, string];
    const config = this.configs.get(namespace || undefined, name);
    if (!config || config.metadata.deletionTimestamp || this.stopped) return undefined;
    const status = jobConfigStatus(config, this.configRuns(config.metadata.namespace, name), this.clock.now());
    if (isDeepStrictEqual(config.status ?? {}, status)) return undefined;
    signal.throwIfAborted();
    await this.client.apply({ apiVersion: GROUP_VERSION, kind: 'JobConfig', metadata: { name, namespace: config.metadata.namespace }, status }, 'status', { signal });
    return undefined;
  }

  /**
   * Brings one run in line with its plan; returns when to look again. Safe to repeat at any point.
   * Optimistic concurrency: the plan is made on one version of the run and its status is written
   * with that version's resourceVersion before any task is created, killed or any event recorded;
   * if the run moved on meanwhile (409), it is read again and planned again.
   */
  private async reconcile(key: string, signal: AbortSignal): Promise<Date | undefined> {
    const [, namespace, name] = key.split('/') as [string, string, string];
    let run = this.expectations.fresher(key, this.runs.get(namespace || undefined, name));
    for (let replans = 0; ; replans++) {
      if (!run || run.metadata.deletionTimestamp || this.stopped) return undefined;
      try {
        return await this.reconcileVersion(key, run, signal);
      } catch (error) {
        if (!isConflict(error) || replans >= CONFLICT_REPLANS) throw error;
        this.options.metrics.reconciles.inc({ outcome: 'conflict' });
        run = await this.client.get<RunObject>(GROUP_VERSION, 'JobRun', run.metadata.namespace, name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      }
    }
  }

  private async reconcileVersion(key: string, live: RunObject, signal: AbortSignal): Promise<Date | undefined> {
    // Someone else wrote the status: plan on the watcher's own record when it has one (and write it back).
    const foreign = this.ownership.foreign(key, live);
    const run = foreign?.ours ? { ...live, status: foreign.ours } : live;
    const now = this.clock.now();
    const executor = runExecutor(run);
    // Before anything is watched or created: a refused kind is not even listed.
    const admission = await this.admission.check(run, executor?.taskKind, now);
    let rejection: Rejection | undefined = admission.rejection;
    const selected = rejection ? undefined : executor;
    let objects: KubeObject[] = [];
    // An AdmissionError is final: its tasks need not be read (their kind may be the reason).
    if (selected && run.status?.phase !== 'AdmissionError') {
      try {
        objects = await this.tasks.objects(selected.taskKind, run.metadata, signal);
        this.options.metrics.taskObjectsRead.inc(objects.length);
      } catch (error) {
        const failure = classifyFailure(error);
        if (!('rejection' in failure)) throw error;
        rejection = failure.rejection;
      }
    }
    const tasks = selected ? observeTasks(run, objects, selected) : [];
    const issued = this.issuedCreates.get(key) ?? new Set<string>();
    this.issuedCreates.set(key, issued);
    // Task caching (engine/cache/): only for a run carrying its config's template; entries are read once tasks are to be created.
    const config = this.configs.get(run.metadata.namespace, run.spec.configName);
    const caching = selected && cacheApplies(run, config) ? config : undefined;
    let snapshot: RunSnapshot = { run, tasks, now, concurrency: this.concurrency(run), issuedCreates: issued, ...(admission.hold && { hold: admission.hold }), ...(caching && { cache: {} }) };
    let plan = planRun({ ...snapshot, rejection });
    if (caching && !rejection && !run.spec.skipCache && plan.create.length > 0) {
      snapshot = { ...snapshot, cache: { entries: await this.cacheEntries.read(caching) } };
      plan = planRun({ ...snapshot, rejection });
    }
    // Rendered before anything is written: a run whose task cannot be rendered ends now, with its reason.
    const rendered: KubeObject[] = [];
    for (const create of plan.create) {
      const { object, rejection: unrenderable } = this.renderCreate(run, create.index, create.retryIndex);
      if (unrenderable) {
        plan = planRun({ ...snapshot, rejection: unrenderable });
        rendered.length = 0;
        break;
      }
      rendered.push(object!);
    }
    // Cache entries before the status that records their successes: at least once (cache-entries.ts).
    const recording = caching && plan.cache?.record.length ? { config: caching, cache: run.spec.template.cache!, records: plan.cache.record } : undefined;
    const uncached = recording ? await this.cacheEntries.write(recording.config, recording.records, signal) : [];
    const written = await this.writeStatus(key, live, plan, signal, foreign?.ours !== undefined);
    if (foreign) {
      const who = foreign.managers.join(', ') || 'another writer';
      const what = foreign.ours ? "restored the watcher's record" : 'the watcher restarted and has no record of its own to restore; it goes on from this status';
      this.recordEvent(run, 'Warning', 'ForeignStatusWrite', `status was written by ${who}, not the watcher; ${what}`);
    }
    const refused = await slowStart(rendered, async (object) => {
      const refusal = await this.createTask(written, object, signal);
      issued.add(object.metadata.name);
      return refusal;
    });
    if (refused) {
      const refusal = planRun({ ...snapshot, run: written, rejection: refused });
      await this.writeStatus(key, written, refusal, signal);
      this.events.record(run, refusal.events);
      return undefined;
    }
    for (const kill of plan.kill) {
      const target = objects.find((o) => o.metadata.name === kill.name && o.metadata.namespace === run.metadata.namespace);
      // A stray is never the watcher's own object: it is stopped in place, never deleted.
      const createdByWatcher = target !== undefined && kill.reason !== 'StrayTask' && ownedBy(target, run);
      if (target && selected) await this.killTask(run, target, selected.executor.kill({ object: target as never, createdByWatcher }, selected.template, now), kill.reason, signal);
    }
    this.events.record(run, plan.events);
    for (const { task, error } of uncached) this.recordEvent(run, 'Warning', 'CacheEntryRefused', `the result of ${task} was not cached: ${error}`);
    this.noteTransitions(run, plan);
    if (caching && plan.cache) {
      this.options.metrics.cacheLookups.inc({ result: 'hit' }, plan.cache.hits.length);
      this.options.metrics.cacheLookups.inc({ result: 'miss' }, plan.cache.misses);
    }
    if (recording) await this.cacheEntries.evict(recording.config, recording.cache, recording.records, now, signal);
    return plan.requeueAt;
  }

  /**
   * A reconcile failed with an error retrying may fix: the run says so (a `ReconcileError` condition,
   * and an event when the reason is new) instead of only a log line. Best effort: the API server may
   * be the error.
   */
  private async reportFailure(key: string, error: unknown, signal: AbortSignal): Promise<void> {
    const failure = classifyFailure(error);
    if (!('transient' in failure)) return;
    const [, namespace, name] = key.split('/') as [string, string, string];
    const run = this.expectations.fresher(key, this.runs.get(namespace || undefined, name));
    if (!run || run.metadata.deletionTimestamp || this.stopped) return;
    const { status, changed } = withReconcileError(run.status ?? {}, failure.transient, run.metadata.generation, this.clock.now().toISOString());
    if (!changed) return;
    try {
      await this.writeStatus(key, run, { status, create: [], kill: [], events: [] }, signal);
      this.recordEvent(run, 'Warning', failure.transient.reason, failure.transient.message);
    } catch (writeError) {
      this.options.logger.debug({ run: key, err: (writeError as Error).message }, 'could not report the failure on the run');
    }
  }

  private concurrency(run: RunObject): ConcurrencyContext | undefined {
    if (run.spec.materialization !== 'Deferred' || run.status?.startTime) return undefined;
    return concurrencyContext(run, this.configRuns(run.metadata.namespace, run.spec.configName), this.configs.get(run.metadata.namespace, run.spec.configName));
  }

  /** The cached runs of one config: a bucket of the runs cache. */
  private configRuns(namespace: string | undefined, config: string): RunObject[] {
    return this.runs.byIndex(configBucket(namespace, config));
  }

  /** The object of one attempt, or why it cannot be rendered (the status says every error with its value, the event only the fields). */
  private renderCreate(run: RunObject, index: Parameters<typeof renderTask>[1], retryIndex: number): { object?: KubeObject; rejection?: Rejection } {
    const config = this.configs.get(run.metadata.namespace, run.spec.configName);
    const { task, errors } = renderTask(run, index, retryIndex, { jobUid: run.metadata.uid, jobConfigUid: config?.metadata.uid });
    if (!task) {
      const what = `cannot render attempt ${retryIndex} of ${run.metadata.name}`;
      const rejection = { reason: 'RenderFailed', message: `${what}: ${errors.map(formatFieldError).join('; ')}`, eventMessage: `${what}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}` };
      return { rejection };
    }
    const object: KubeObject = {
      ...task.manifest,
      metadata: {
        ...(task.manifest.metadata as KubeObject['metadata']),
        // Owned by the run: Argo CD shows it as a child and never prunes it; Kubernetes GC removes it with the run.
        ownerReferences: [{ apiVersion: GROUP_VERSION, kind: 'JobRun', name: run.metadata.name, uid: run.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
    };
    return { object };
  }

  /** Creates one attempt; returns why, when the API server refuses the object itself (so retrying cannot help). */
  private async createTask(run: RunObject, object: KubeObject, signal: AbortSignal): Promise<Rejection | undefined> {
    const name = object.metadata.name;
    const retryIndex = Number(object.metadata.labels?.[LABEL_RETRY_INDEX]);
    try {
      await this.client.create(object, signal);
      this.options.metrics.tasksCreated.inc({ kind: object.kind, retry: String(retryIndex > 0) });
      // Test hook (resilience tests): die between a create and everything after it.
      if (process.env.TASKPLANE_TEST_CRASH_AFTER_CREATE === '1') process.kill(process.pid, 'SIGKILL');
      this.options.logger.info({ run: run.metadata.name, task: name }, 'created task');
    } catch (error) {
      const refused = createRejection(error, object.kind, name);
      if (refused) return refused;
      if (!isAlreadyExists(error)) throw error;
      // Deterministic names make a repeated create harmless: the object is ours if the run owns it.
      const existing = await this.client.get(object.apiVersion, object.kind, run.metadata.namespace, name);
      if (!ownedBy(existing, run) && existing.metadata.labels?.[LABEL_RUN] !== run.metadata.name) {
        return { reason: 'TaskNameTaken', message: `${object.kind} ${name} already exists and does not belong to this run` };
      }
    }
    return undefined;
  }

  /**
   * Writes the planned status with the resourceVersion it was planned on (409 if the run moved on);
   * returns the run as written, which later plans read until the cache has caught up.
   */
  private async writeStatus(key: string, run: RunObject, plan: RunPlan, signal: AbortSignal, replaceForeign = false): Promise<RunObject> {
    if (isDeepStrictEqual(run.status ?? {}, plan.status)) return run;
    signal.throwIfAborted();
    const { name, namespace, resourceVersion } = run.metadata;
    const metadata = { name, namespace, resourceVersion };
    // Apply keeps fields another manager owns and we do not set; a foreign write is replaced field by field.
    const written = replaceForeign
      ? await this.client.mergePatch<RunObject>({ apiVersion: GROUP_VERSION, kind: 'JobRun', metadata }, { metadata: { resourceVersion }, status: replacingPatch(run.status, plan.status) }, 'status', signal)
      : await this.client.apply<RunObject>({ apiVersion: GROUP_VERSION, kind: 'JobRun', metadata, status: plan.status }, 'status', { signal });
    this.expectations.wrote(key, resourceVersion, written);
    this.ownership.wrote(key, written);
    return written;
  }

  private async killTask(run: RunObject, live: KubeObject, action: KillAction, reason: string, signal: AbortSignal): Promise<void> {
    this.options.metrics.kills.inc({ reason });
    if (action.kind === 'mergePatch') await this.client.mergePatch(live, action.patch, undefined, signal);
    else if (action.kind === 'delete') await this.client.delete(live, live.metadata.uid, signal).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    else this.recordEvent(run, 'Warning', 'CannotKill', `${live.kind} ${live.metadata.name}: ${action.why}`);
  }

  private recordEvent(object: RunObject | ConfigObject, type: string, reason: string, message: string): void {
    this.events.record(object, [{ type, reason, message }]);
  }

  private noteTransitions(run: RunObject, plan: RunPlan): void {
    const before = new Map((run.status?.tasks ?? []).map((t) => [t.name, `${t.status.state}/${t.status.result ?? ''}`]));
    for (const task of plan.status.tasks ?? []) {
      if (before.get(task.name) !== `${task.status.state}/${task.status.result ?? ''}`) {
        this.options.metrics.taskTransitions.inc({ state: task.status.state, result: task.status.result ?? '' });
      }
    }
    const phase = plan.status.phase;
    if (phase !== run.status?.phase) {
      this.options.logger.info({ run: run.metadata.name, namespace: run.metadata.namespace, phase, from: run.status?.phase }, 'run phase changed');
    }
  }

  /** Queued runs of `run`'s config may start now (it finished or is gone). */
  private wakeQueued(run: RunObject): void {
    for (const other of this.configRuns(run.metadata.namespace, run.spec.configName)) {
      if (!other.status?.startTime) this.queue.add(runKey(other.metadata.namespace, other.metadata.name));
    }
  }
}

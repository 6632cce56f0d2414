/**
 * The watcher: informers (reflectors) for JobRuns, JobConfigs and the task objects of every kind in
 * use, a work queue keyed by run, and an idempotent reconcile of one run at a time that carries out
 * the engine's plan. Only the leader reconciles; every replica keeps its caches warm.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { LABEL_RUN } from '../engine/labels.js';
import { renderTask } from '../engine/render.js';
import { jobConfigStatus } from '../engine/config-status.js';
import { concurrencyContext, planRun, TERMINAL_PHASES } from '../engine/run/index.js';
import type { ConcurrencyContext, RunPlan, RunSnapshot } from '../engine/run/types.js';
import { GROUP_VERSION, type JobConfigObject, type JobRunObject } from '../engine/schema/resources.js';
import { formatFieldError } from '../engine/errors.js';
import type { KillAction } from '../engine/executors/types.js';
import { ApiError, isAlreadyExists, isNotFound, KubeClient, type KubeObject } from './kube/client.js';
import { Reflector } from './kube/reflector.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';
import type { WatcherMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Scheduler, type SchedulerPolicy } from './scheduler.js';
import { observeTasks, ownedBy, runExecutor, type TaskKind } from './tasks.js';

export const FIELD_MANAGER = 'taskplane-watcher';

export interface WatcherOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: WatcherMetrics;
  /** Watch one namespace only. @default - all namespaces */
  readonly namespace?: string;
  /** Lease namespace and name for leader election; none runs without election (one replica only). */
  readonly leaderElection?: LeaderElectionOptions;
  /** Concurrent reconciles (of different runs). @default 2 */
  readonly workers?: number;
  /** The time every run decision reads. @default systemClock - tests and the demo set their own */
  readonly clock?: Clock;
  /** Catch-up and queue limits for schedules. @default - Furiko's: 5 missed, 300 s downtime, 20 enqueued */
  readonly schedulerPolicy?: SchedulerPolicy;
}

type RunObject = JobRunObject & KubeObject;
type ConfigObject = JobConfigObject & KubeObject;

/** Queue keys name the kind: runs are reconciled by their plan, configs get their status from their runs. */
const runKey = (namespace: string | undefined, name: string) => `JobRun/${namespace ?? ''}/${name}`;
const configKey = (namespace: string | undefined, name: string) => `JobConfig/${namespace ?? ''}/${name}`;

export class Watcher {
  readonly client: KubeClient;
  private readonly runs: Reflector<RunObject>;
  private readonly configs: Reflector<ConfigObject>;
  private readonly taskReflectors = new Map<string, Promise<Reflector<KubeObject>>>();
  private readonly queue = new WorkQueue();
  private readonly elector?: LeaderElector;
  private workers: Promise<void>[] = [];
  private stopped = false;
  private readonly clock: Clock;
  readonly scheduler: Scheduler;

  constructor(private readonly options: WatcherOptions) {
    const { metrics } = options;
    this.clock = options.clock ?? systemClock;
    this.client = new KubeClient(options.kubeConfig, FIELD_MANAGER, (verb, resource, status) =>
      metrics.apiRequests.inc({ verb, resource, code: String(status) }),
    );
    const scope = { namespace: options.namespace };
    this.runs = this.reflector<RunObject>({ apiVersion: GROUP_VERSION, kind: 'JobRun', ...scope });
    this.configs = this.reflector<ConfigObject>({ apiVersion: GROUP_VERSION, kind: 'JobConfig', ...scope });
    const configOf = (run: RunObject) => configKey(run.metadata.namespace, run.spec.configName);
    this.runs.on('add', (run) => {
      this.queue.add(runKey(run.metadata.namespace, run.metadata.name));
      this.queue.add(configOf(run));
    });
    this.runs.on('delete', (run) => this.queue.add(configOf(run)));
    this.runs.on('update', (run, old) => {
      // Status writes are our own; only spec, labels or deletion changes need another look at the run...
      if (run.metadata.generation !== old.metadata.generation || run.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) {
        this.queue.add(runKey(run.metadata.namespace, run.metadata.name));
      }
      // ...but a run that started or finished changes its config's counts.
      if (run.status?.phase !== old.status?.phase || run.status?.startTime !== old.status?.startTime) this.queue.add(configOf(run));
    });
    this.configs.on('add', (config) => this.queue.add(configKey(config.metadata.namespace, config.metadata.name)));
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
      isLeader: () => this.isLeader,
      recordEvent: (object, type, reason, message) => this.recordEvent(object, type, reason, message),
      refreshStatus: (config) => this.queue.add(configKey(config.metadata.namespace, config.metadata.name)),
    });
    if (options.leaderElection) {
      this.elector = new LeaderElector(this.client, options.leaderElection);
      this.elector.on('started', () => {
        options.logger.info({ identity: options.leaderElection!.identity }, 'became leader');
        metrics.isLeader.set(1);
        // Everything may have changed while another replica led.
        for (const run of this.runs.list()) this.queue.add(runKey(run.metadata.namespace, run.metadata.name));
        for (const config of this.configs.list()) this.queue.add(configKey(config.metadata.namespace, config.metadata.name));
        this.scheduler.wake();
      });
      this.elector.on('stopped', () => {
        options.logger.warn('lost leadership; reconciles pause');
        metrics.isLeader.set(0);
      });
    } else metrics.isLeader.set(1);
  }

  get isLeader(): boolean {
    return this.elector?.isLeader ?? true;
  }

  /** Ready once the run and config caches hold a full list. */
  ready(): boolean {
    return this.runs.synced && this.configs.synced;
  }

  async start(): Promise<void> {
    this.runs.start();
    this.configs.start();
    this.elector?.start();
    await Promise.all([this.runs.waitForSync(), this.configs.waitForSync()]);
    this.workers = Array.from({ length: this.options.workers ?? 2 }, () => this.work());
    this.scheduler.start();
    this.options.logger.info({ runs: this.runs.list().length }, 'watcher started');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.shutdown();
    await Promise.all([...this.workers, this.scheduler.stop()]);
    await this.elector?.stop();
    const taskReflectors = await Promise.all([...this.taskReflectors.values()].map((r) => r.catch(() => undefined)));
    await Promise.all([this.runs.stop(), this.configs.stop(), ...taskReflectors.map((r) => r?.stop())]);
  }

  private reflector<T extends KubeObject>(options: { apiVersion: string; kind: string; namespace?: string; labelSelector?: string }): Reflector<T> {
    const reflector = new Reflector<T>(this.client, options);
    reflector.on('retry', (error, delayMs) => this.options.logger.warn({ kind: options.kind, delayMs, err: error.message }, 'watch interrupted; retrying'));
    return reflector;
  }

  /** Task objects of a kind are watched from the first run that uses it. */
  private taskReflector(taskKind: TaskKind): Promise<Reflector<KubeObject>> {
    const id = `${taskKind.apiVersion}/${taskKind.kind}`;
    let reflector = this.taskReflectors.get(id);
    if (!reflector) {
      reflector = (async () => {
        // Fails fast (and is retried by the queue) when the kind does not exist, e.g. a missing CRD.
        await this.client.path(taskKind.apiVersion, taskKind.kind);
        const r = this.reflector<KubeObject>({ ...taskKind, namespace: this.options.namespace, labelSelector: LABEL_RUN });
        const enqueue = (object: KubeObject) => {
          const run = object.metadata.labels?.[LABEL_RUN];
          if (run) this.queue.add(runKey(object.metadata.namespace, run));
        };
        r.on('add', enqueue);
        r.on('update', enqueue);
        r.on('delete', enqueue);
        r.start();
        await r.waitForSync();
        return r;
      })();
      this.taskReflectors.set(id, reflector);
      reflector.catch(() => this.taskReflectors.delete(id));
    }
    return reflector;
  }

  private async work(): Promise<void> {
    for (let key = await this.queue.next(); key !== undefined; key = await this.queue.next()) {
      this.options.metrics.queueDepth.set(this.queue.length);
      if (!this.isLeader) {
        this.queue.done(key);
        continue;
      }
      const timer = this.options.metrics.reconcileSeconds.startTimer();
      try {
        const requeueAt = key.startsWith('JobConfig/') ? await this.reconcileConfig(key) : await this.reconcile(key);
        this.queue.forget(key);
        if (requeueAt) this.queue.addAfter(key, requeueAt.getTime() - this.clock.now().getTime());
        this.options.metrics.reconciles.inc({ outcome: 'success' });
      } catch (error) {
        const delayMs = this.queue.addRateLimited(key);
        this.options.metrics.reconciles.inc({ outcome: 'error' });
        this.options.logger.warn({ run: key, delayMs, err: (error as Error).message }, 'reconcile failed; will retry');
      } finally {
        timer();
        this.queue.done(key);
      }
    }
  }

  /** Writes a JobConfig's status (active and queued runs, last start) when it changed. */
  private async reconcileConfig(key: string): Promise<undefined> {
    const [, namespace, name] = key.split('/') as [string, string, string];
    const config = this.configs.get(namespace || undefined, name);
    if (!config || config.metadata.deletionTimestamp || this.stopped) return undefined;
    const status = jobConfigStatus(config, this.runs.list(), this.clock.now());
    if (isDeepStrictEqual(config.status ?? {}, status)) return undefined;
    await this.client.apply({ apiVersion: GROUP_VERSION, kind: 'JobConfig', metadata: { name, namespace: config.metadata.namespace }, status }, 'status');
    return undefined;
  }

  /** Brings one run in line with its plan; returns when to look again. Safe to repeat at any point. */
  private async reconcile(key: string): Promise<Date | undefined> {
    const [, namespace, name] = key.split('/') as [string, string, string];
    const run = this.runs.get(namespace || undefined, name);
    if (!run || run.metadata.deletionTimestamp || this.stopped) return undefined;
    const selected = runExecutor(run);
    const objects = selected ? (await this.taskReflector(selected.taskKind)).list() : [];
    const tasks = selected ? observeTasks(run, objects, selected) : [];
    const now = this.clock.now();
    let plan = planRun({ run, tasks, now, concurrency: this.concurrency(run) });

    for (const create of plan.create) {
      const rejection = await this.createTask(run, create.index, create.retryIndex);
      if (rejection) {
        plan = planRun({ run, tasks, now, rejection });
        break;
      }
    }
    await this.writeStatus(run, plan);
    for (const kill of plan.kill) {
      const live = objects.find((o) => o.metadata.name === kill.name && o.metadata.namespace === run.metadata.namespace);
      if (live && selected) await this.killTask(run, live, selected.executor.kill({ object: live as never, createdByWatcher: ownedBy(live, run) }, selected.template, now), kill.reason);
    }
    for (const event of plan.events) await this.recordEvent(run, event.type, event.reason, event.message);
    this.noteTransitions(run, plan);
    return plan.requeueAt;
  }

  private concurrency(run: RunObject): ConcurrencyContext | undefined {
    if (run.spec.materialization !== 'Deferred' || run.status?.startTime) return undefined;
    return concurrencyContext(run, this.runs.list(), this.configs.get(run.metadata.namespace, run.spec.configName));
  }

  /** Creates one attempt; returns why, when the API server refuses the object itself (so retrying cannot help). */
  private async createTask(run: RunObject, index: Parameters<typeof renderTask>[1], retryIndex: number): Promise<RunSnapshot['rejection']> {
    const config = this.configs.get(run.metadata.namespace, run.spec.configName);
    const { task, errors } = renderTask(run, index, retryIndex, { jobUid: run.metadata.uid, jobConfigUid: config?.metadata.uid });
    if (!task) throw new Error(`cannot render ${run.metadata.name} attempt ${retryIndex}: ${errors.map(formatFieldError).join('; ')}`);
    const object: KubeObject = {
      ...task.manifest,
      metadata: {
        ...(task.manifest.metadata as KubeObject['metadata']),
        // Owned by the run: Argo CD shows it as a child and never prunes it; Kubernetes GC removes it with the run.
        ownerReferences: [{ apiVersion: GROUP_VERSION, kind: 'JobRun', name: run.metadata.name, uid: run.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
    };
    try {
      await this.client.create(object);
      this.options.metrics.tasksCreated.inc({ kind: object.kind, retry: String(retryIndex > 0) });
      // Test hook (resilience tests): die between a create and the status write that records it.
      if (process.env.TASKPLANE_TEST_CRASH_AFTER_CREATE === '1') process.kill(process.pid, 'SIGKILL');
      this.options.logger.info({ run: run.metadata.name, task: task.name }, 'created task');
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) return { reason: 'TaskRejected', message: `the API server rejected ${object.kind} ${task.name}: ${error.message}` };
      if (!isAlreadyExists(error)) throw error;
      // Deterministic names make a repeated create harmless: the object is ours if the run owns it.
      const existing = await this.client.get(object.apiVersion, object.kind, run.metadata.namespace, task.name);
      if (!ownedBy(existing, run) && existing.metadata.labels?.[LABEL_RUN] !== run.metadata.name) {
        return { reason: 'TaskNameTaken', message: `${object.kind} ${task.name} already exists and does not belong to this run` };
      }
    }
    return undefined;
  }

  private async writeStatus(run: RunObject, plan: RunPlan): Promise<void> {
    if (isDeepStrictEqual(run.status ?? {}, plan.status)) return;
    await this.client.apply(
      { apiVersion: GROUP_VERSION, kind: 'JobRun', metadata: { name: run.metadata.name, namespace: run.metadata.namespace }, status: plan.status },
      'status',
    );
  }

  private async killTask(run: RunObject, live: KubeObject, action: KillAction, reason: string): Promise<void> {
    this.options.metrics.kills.inc({ reason });
    if (action.kind === 'mergePatch') await this.client.mergePatch(live, action.patch);
    else if (action.kind === 'delete') await this.client.delete(live, live.metadata.uid).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    else await this.recordEvent(run, 'Warning', 'CannotKill', `${live.kind} ${live.metadata.name}: ${action.why}`);
  }

  private async recordEvent(run: RunObject | ConfigObject, type: string, reason: string, message: string): Promise<void> {
    const now = this.clock.now().toISOString();
    try {
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Event',
        // Named like client-go's recorder: the object's name and a unique hex suffix (fixed width, so names sort by time).
        metadata: { name: `${run.metadata.name}.${process.hrtime.bigint().toString(16).padStart(16, '0')}`, namespace: run.metadata.namespace },
        involvedObject: { apiVersion: GROUP_VERSION, kind: run.kind, name: run.metadata.name, namespace: run.metadata.namespace, uid: run.metadata.uid },
        type,
        reason,
        message,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (error) {
      // Events are best effort: a run's status is the record.
      this.options.logger.debug({ err: (error as Error).message }, 'event not recorded');
    }
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
      // A run that finished frees a slot: queued runs of the same config may start now.
      if (phase && TERMINAL_PHASES.has(phase)) {
        for (const other of this.runs.list()) {
          if (other.metadata.namespace === run.metadata.namespace && other.spec.configName === run.spec.configName && !other.status?.startTime) {
            this.queue.add(runKey(other.metadata.namespace, other.metadata.name));
          }
        }
      }
    }
  }
}

/**
 * The runtime half of the `http` executor: the leader performs the requests of HttpTask objects.
 *
 * One request per attempt, recorded before it is sent: the runner writes `Starting` with its own
 * identity (unique per process) and the start time, with the resourceVersion it read, and sends only
 * once that write succeeded. A task found `Starting` under any other identity belongs to a watcher
 * that is gone (a crash, a lost lease): it is marked `Failed` with reason `ExecutorLost` (the request
 * may or may not have reached the server) and the run retries it under its policy, as a new attempt.
 * No attempt is ever sent twice. The outcome is written only while the task still says it is this
 * runner's (compare-and-swap on the resourceVersion), so a verdict can never overwrite another's.
 *
 * A bounded pool: at most `concurrency` requests in flight, the rest wait in arrival order (pending,
 * for the pending timeout). A kill (`spec.killTimestamp`) aborts an in-flight request or records an
 * unsent one as Killed; losing leadership aborts every request without writing anything.
 */
import type { Logger } from 'pino';
import { judgeResponse, bounded, type HttpVerdict } from '../engine/executors/http-response.js';
import { HTTP_TASK_KIND } from '../engine/executors/http.js';
import type { HttpTaskSpec, HttpTaskStatus } from '../engine/schema/http.js';
import type { Clock } from './clock.js';
import { HttpFailure, type HttpClient } from './http-client.js';
import type { HttpTaskVerdict } from './http-admission.js';
import { runBucket } from './cache-indexes.js';
import { prepareRequest, redactSecrets, type PreparedRequest } from './http-request.js';
import { isConflict, isNotFound, type KubeClient, type KubeObject } from './kube/client.js';
import type { Reflector } from './kube/reflector.js';

export type HttpTaskObject = KubeObject & { spec: HttpTaskSpec; status?: HttpTaskStatus };

export interface HttpRunnerOptions {
  readonly client: KubeClient;
  /** The HttpTask cache (shared with the run reconciler). */
  /** The HttpTask cache, indexed by run (cache-indexes.ts `taskRunBucket`). */
  readonly tasks: Reflector<KubeObject>;
  readonly http: HttpClient;
  readonly logger: Logger;
  readonly clock: Clock;
  /** This process, written into `status.executor`; unique per process so a restart never takes over a dead request. */
  readonly identity: string;
  /** @default 100 */
  readonly concurrency?: number;
  /** Whether this replica sends this task now: it leads, or holds the shard of the task's run. */
  readonly owns: (task: KubeObject) => boolean;
  /** Whether this HttpTask is its run's, to be sent (see http-admission.ts). */
  readonly admit: (task: HttpTaskObject) => HttpTaskVerdict;
}

/** Why an in-flight request was aborted. */
class Abort {
  constructor(
    readonly kind: 'kill' | 'leadership',
    readonly message: string,
  ) {}
}

/** Writes of an outcome before it is given up (conflicts and API errors; 250 ms doubling between errors). */
const FINISH_ATTEMPTS = 5;
/** A task whose status could not be written is looked at again after this long. */
const RECONSIDER_MS = 2000;
const TERMINAL = new Set(['Succeeded', 'Failed', 'Killed']);

export class HttpRunner {
  private readonly inflight = new Map<string, AbortController>();
  private readonly waiting = new Set<string>();
  private readonly settled = new Set<Promise<void>>();
  private readonly concurrency: number;

  constructor(private readonly options: HttpRunnerOptions) {
    this.concurrency = options.concurrency ?? 100;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new Error(`http concurrency must be a whole number of at least 1, got ${this.concurrency}`);
    const consider = (object: KubeObject) => this.consider(object as HttpTaskObject);
    options.tasks.on('add', consider);
    options.tasks.on('update', consider);
    options.tasks.on('delete', (object) => this.inflight.get(keyOf(object))?.abort(new Abort('kill', 'the HttpTask was deleted')));
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** A run's status changed: its tasks that waited for the run to record them may go now. */
  runChanged(namespace: string | undefined, run: string): void {
    for (const task of this.options.tasks.byIndex(runBucket(namespace, run))) {
      if (!task.status) this.consider(task as HttpTaskObject);
    }
  }

  /** Leadership or a shard (re)gained: every task is looked at again (tasks left Starting by the previous owner are lost). */
  lead(): void {
    for (const object of this.options.tasks.list()) this.consider(object as HttpTaskObject);
  }

  /** Leadership or a shard lost: requests no longer ours are aborted and nothing more is written for them; the next owner decides. */
  abandon(): void {
    const owned = (key: string) => {
      const task = this.options.tasks.get(...splitKey(key));
      return task !== undefined && this.options.owns(task);
    };
    for (const key of this.waiting) if (!owned(key)) this.waiting.delete(key);
    for (const [key, controller] of this.inflight) if (!owned(key)) controller.abort(new Abort('leadership', 'lost leadership'));
  }

  async stop(): Promise<void> {
    this.waiting.clear();
    for (const controller of this.inflight.values()) controller.abort(new Abort('leadership', 'stopping'));
    await Promise.all(this.settled);
  }

  private consider(task: HttpTaskObject): void {
    if (!this.options.owns(task) || task.kind !== HTTP_TASK_KIND.kind || task.metadata.deletionTimestamp) return;
    const key = keyOf(task);
    const state = task.status?.state;
    if (state && TERMINAL.has(state)) return;
    const inflight = this.inflight.get(key);
    if (inflight) {
      if (task.spec.killTimestamp) inflight.abort(new Abort('kill', `killed at ${task.spec.killTimestamp} while the request was in flight`));
      return;
    }
    if (state === 'Starting' || state === 'Running') {
      const status = task.status!;
      this.track(
        this.write(task, {
          ...status,
          state: 'Failed',
          reason: 'ExecutorLost',
          message: `watcher ${status.executor ?? '(unknown)'} recorded at ${status.startTime ?? '(unknown)'} that it was sending the request and is gone; the request may or may not have reached the server (Idempotency-Key lets it tell)`,
          completionTime: this.now(),
        }),
      );
      return;
    }
    if (task.spec.killTimestamp) {
      this.waiting.delete(key);
      this.track(this.write(task, { state: 'Killed', reason: 'Killed', message: `killed at ${task.spec.killTimestamp}; the request was never sent`, completionTime: this.now() }));
      return;
    }
    const verdict = this.options.admit(task);
    if (verdict.decision === 'wait') return;
    if (verdict.decision === 'refuse') {
      this.track(this.write(task, { state: 'Failed', reason: 'NotAdmitted', message: bounded(`${verdict.why}; the request was not sent`), completionTime: this.now() }));
      return;
    }
    this.waiting.add(key);
    this.pump();
  }

  /** Starts waiting tasks, oldest first, while the pool has room. */
  private pump(): void {
    for (const key of this.waiting) {
      if (this.inflight.size >= this.concurrency) return;
      this.waiting.delete(key);
      const task = this.options.tasks.get(...splitKey(key)) as HttpTaskObject | undefined;
      if (task && !task.status?.state && !task.spec.killTimestamp && !task.metadata.deletionTimestamp) this.track(this.run(task));
    }
  }

  private async run(task: HttpTaskObject): Promise<void> {
    const key = keyOf(task);
    const controller = new AbortController();
    this.inflight.set(key, controller);
    const log = this.options.logger.child({ httpTask: task.metadata.name, namespace: task.metadata.namespace });
    try {
      let prepared: PreparedRequest;
      try {
        prepared = await prepareRequest(task, this.options.client);
      } catch (error) {
        const failure = error instanceof HttpFailure ? error : new HttpFailure('SecretUnavailable', (error as Error).message);
        await this.write(task, { state: 'Failed', reason: failure.reason, message: bounded(`${failure.message}; the request was not sent`), completionTime: this.now() });
        return;
      }
      if (controller.signal.aborted) return await this.aborted(task, controller.signal.reason as Abort, { recorded: false, sent: false });
      const started = await this.write(task, { state: 'Starting', executor: this.options.identity, startTime: this.now() });
      if (!started) return;
      if (controller.signal.aborted) return await this.aborted(started, controller.signal.reason as Abort, { recorded: true, sent: false });
      const base = { executor: this.options.identity, startTime: started.status!.startTime! };
      let verdict: HttpVerdict;
      try {
        verdict = judgeResponse(task.spec.response, await this.options.http.send(prepared.outgoing, controller.signal));
      } catch (error) {
        if (error instanceof Abort) return await this.aborted(started, error, { recorded: true, sent: true });
        const failure = error instanceof HttpFailure ? error : new HttpFailure('RequestFailed', (error as Error).message);
        verdict = { state: 'Failed', reason: failure.reason, message: bounded(failure.message) };
      }
      log.debug({ state: verdict.state, reason: verdict.reason, statusCode: verdict.statusCode }, 'http task finished');
      await this.finish(started, { ...base, ...redactSecrets(verdict, prepared.secretValues), completionTime: this.now() });
    } catch (error) {
      // Nothing was sent unrecorded. Looked at again shortly: unsent, it is sent then; recorded as
      // Starting but its outcome unwritten, it ends ExecutorLost, which is what can be said of it.
      log.warn({ err: (error as Error).message, retryInMs: RECONSIDER_MS }, 'http task status not written; looking again');
      setTimeout(() => this.reconsider(key), RECONSIDER_MS).unref();
    } finally {
      this.inflight.delete(key);
      this.pump();
    }
  }

  private reconsider(key: string): void {
    const task = this.options.tasks.get(...splitKey(key));
    if (task) this.consider(task as HttpTaskObject);
  }

  /** A killed task says so; one abandoned with the lease is left for the next leader. */
  private async aborted(task: HttpTaskObject, abort: Abort, { recorded, sent }: { recorded: boolean; sent: boolean }): Promise<void> {
    if (abort.kind !== 'kill') return;
    const status: HttpTaskStatus = { ...task.status, state: 'Killed', reason: 'Killed', message: `${abort.message}; ${sent ? 'the request was aborted' : 'the request was never sent'}`, completionTime: this.now() };
    if (recorded) await this.finish(task, status);
    else await this.write(task, status);
  }

  /**
   * Writes the outcome while the task still says this runner sends it. A conflict (a kill patched the
   * spec meanwhile) is read again; another executor's or a terminal status wins.
   */
  private async finish(started: HttpTaskObject, status: HttpTaskStatus): Promise<void> {
    let task = started;
    for (let attempt = 0; attempt < FINISH_ATTEMPTS; attempt++) {
      let written;
      try {
        written = await this.write(task, status, true);
      } catch (error) {
        // An API server that does not answer now may a moment later: the outcome is worth waiting for.
        if (attempt === FINISH_ATTEMPTS - 1) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
        continue;
      }
      if (written !== 'conflict') return;
      const fresh = await this.options.client.get<HttpTaskObject>(task.apiVersion, task.kind, task.metadata.namespace, task.metadata.name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      if (!fresh || fresh.status?.executor !== this.options.identity || fresh.status.state !== 'Starting') {
        this.options.logger.warn({ httpTask: task.metadata.name, state: fresh?.status?.state, executor: fresh?.status?.executor }, 'http task outcome dropped: the task is no longer this watcher\'s');
        return;
      }
      task = fresh;
    }
  }

  /**
   * The whole status, written with the resourceVersion it was decided on; undefined when the task moved
   * on or is gone (its next event decides again), or 'conflict' when asked to report one.
   */
  private async write(task: HttpTaskObject, status: HttpTaskStatus): Promise<HttpTaskObject | undefined>;
  private async write(task: HttpTaskObject, status: HttpTaskStatus, reportConflict: true): Promise<HttpTaskObject | undefined | 'conflict'>;
  private async write(task: HttpTaskObject, status: HttpTaskStatus, reportConflict = false): Promise<HttpTaskObject | undefined | 'conflict'> {
    if (!this.options.owns(task)) return undefined;
    const { name, namespace, resourceVersion } = task.metadata;
    try {
      return await this.options.client.apply<HttpTaskObject>({ apiVersion: task.apiVersion, kind: task.kind, metadata: { name, namespace, resourceVersion }, status }, 'status');
    } catch (error) {
      if (isConflict(error)) return reportConflict ? 'conflict' : undefined;
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private track(work: Promise<unknown>): void {
    const settled: Promise<void> = work.then(
      () => undefined,
      (error: Error) => this.options.logger.warn({ err: error.message }, 'http task status not written'),
    );
    this.settled.add(settled);
    void settled.finally(() => this.settled.delete(settled));
  }

  private now(): string {
    return this.options.clock.now().toISOString();
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function splitKey(key: string): [string | undefined, string] {
  const [namespace, name] = key.split('/') as [string, string];
  return [namespace || undefined, name];
}

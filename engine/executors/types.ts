/**
 * An executor turns a task template into a concrete object (render, at synth and in the watcher) and
 * reads the live object's state (observe, in the watcher).
 */
import type { FieldError } from '../errors.js';
import type { VariableScope } from '../substitution.js';

export type ExecutorName = 'pod' | 'job' | 'workflow' | 'customResource' | 'http';

/** A Kubernetes object as plain JSON. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface Executor<TTemplate> {
  readonly name: ExecutorName;
  /** Problems with the template itself, before any variable is substituted. */
  validate(template: TTemplate, field: string): FieldError[];
  /**
   * Problems only substitution can cause, on the rendered object: values the API server checks
   * (an image that became empty) and the labels of pod templates inside it. The object's own
   * metadata is checked by `render`.
   */
  validateRendered(manifest: Manifest, field: string): FieldError[];
  /** The object for one task, `${...}` still unresolved; taskplane's metadata is added by `render`. */
  manifest(template: TTemplate): Manifest;
  /**
   * Substitution with rules of the executor's own (the http URL's structure).
   * @default - `substitute` over the whole object
   */
  substitute?(manifest: Manifest, scope: VariableScope, field: string): { value: Manifest; errors: FieldError[] };
  /** The task's state, read off the live object. */
  observe(task: LiveTask, template: TTemplate): TaskObservation;
  /**
   * How to stop the task now without touching fields Git sets or deleting what GitOps manages.
   * `now` is passed in so the engine stays free of clocks.
   */
  kill(task: LiveTask, template: TTemplate, now: Date): KillAction;
}

/** What an executor reads off a live task object (Furiko's task states and results). */
export interface TaskObservation {
  readonly state: 'Starting' | 'Running' | 'Killing' | 'Terminated';
  /** Set once `Terminated`. */
  readonly result?: 'Succeeded' | 'Failed' | 'Killed';
  /** A short CamelCase cause, e.g. `OOMKilled`, `DeadlineExceeded`, `Evicted`, `BackoffLimitExceeded`. */
  readonly reason?: string;
  readonly message?: string;
  /** When it started running, if the object says; otherwise the watcher stamps the time it first saw it running. */
  readonly runningTimestamp?: string;
  /** When it finished, if the object says; otherwise the watcher stamps the time it first saw it finished. */
  readonly finishTimestamp?: string;
  /** The parsed result payload where the executor has one (termination message, outputs, CEL result). */
  readonly taskResult?: unknown;
  /** Exit code by container name, for containers that terminated (Pods only); read by retry rules. */
  readonly exitCodes?: Readonly<Record<string, number>>;
}

/** How to stop a live task in place, or why that is not possible. */
export type KillAction =
  | { readonly kind: 'mergePatch'; readonly patch: Record<string, unknown> }
  | { readonly kind: 'delete' }
  | { readonly kind: 'impossible'; readonly why: string };

export interface LiveTask {
  /** The live object as the API server returns it. */
  readonly object: Manifest & { status?: Record<string, unknown> };
  /** True when the watcher created it (ownerReference to the JobRun); false for objects GitOps manages. */
  readonly createdByWatcher: boolean;
}

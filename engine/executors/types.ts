/**
 * An executor turns a task template into a concrete object (render, at synth and in the watcher) and
 * reads the live object's state (observe, in the watcher).
 */
import type { FieldError } from '../errors.js';

export type ExecutorName = 'pod' | 'job' | 'workflow' | 'customResource';

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
  /** The object for one task, `${...}` still unresolved; taskplane's metadata is added by `render`. */
  manifest(template: TTemplate): Manifest;
}

import type { FieldError } from '../errors.js';
import type { TaskTemplate } from '../schema/template.js';
import { customResourceExecutor } from './custom-resource.js';
import { httpExecutor } from './http.js';
import { jobExecutor } from './job.js';
import { podExecutor } from './pod.js';
import type { Executor, ExecutorName } from './types.js';
import { workflowExecutor } from './workflow.js';

export type { Executor, ExecutorName, KillAction, LiveTask, Manifest, TaskObservation } from './types.js';

const EXECUTORS = {
  pod: podExecutor,
  job: jobExecutor,
  workflow: workflowExecutor,
  customResource: customResourceExecutor,
  http: httpExecutor,
} as const satisfies Record<ExecutorName, Executor<never>>;

export const EXECUTOR_NAMES = Object.keys(EXECUTORS) as ExecutorName[];

export interface SelectedExecutor {
  readonly executor: Executor<unknown>;
  readonly template: unknown;
  readonly field: string;
}

/**
 * The executor's own checks of a task template, only once the schema accepted the template's shape
 * (`schemaErrors` has nothing under `field`): the checks read that shape and would throw on another.
 */
export function executorErrors(taskTemplate: TaskTemplate, field: string, schemaErrors: readonly FieldError[]): FieldError[] {
  return schemaErrors.some((e) => e.field.startsWith(field)) ? [] : selectExecutor(taskTemplate, field).errors;
}

/** The one executor a task template names, or the errors that explain why there is not exactly one. */
export function selectExecutor(taskTemplate: TaskTemplate, field: string): { selected?: SelectedExecutor; errors: FieldError[] } {
  const named = Object.keys(taskTemplate).filter((key) => (taskTemplate as Record<string, unknown>)[key] !== undefined);
  const unknown = named.filter((key) => !(key in EXECUTORS));
  const known = named.filter((key): key is ExecutorName => key in EXECUTORS);
  const errors: FieldError[] = unknown.map((key) => ({ field: `${field}.${key}`, message: 'unknown executor', valid: `one of ${EXECUTOR_NAMES.join(', ')}` }));
  if (known.length !== 1) {
    errors.push({ field, message: known.length ? `exactly one executor allowed (got ${known.join(', ')})` : 'an executor is required', valid: `one of ${EXECUTOR_NAMES.join(', ')}` });
    return { errors };
  }
  const name = known[0]!;
  const selected = { executor: EXECUTORS[name] as Executor<unknown>, template: taskTemplate[name], field: `${field}.${name}` };
  return { selected, errors: [...errors, ...selected.executor.validate(selected.template, selected.field)] };
}

/**
 * `customResource`: each task is any namespaced object. Its state is read with CEL expressions over
 * the live object (`self`), compiled at synth so a typo fails before anything reaches a cluster.
 */
import type { FieldError } from '../errors.js';
import type { CustomResourceTemplate } from '../schema/template.js';
import { celSyntaxError, celToJson, evaluateCel } from './_cel.js';
import { unlessDeleting, unlessFinished } from './_observe.js';
import type { Executor, LiveTask, Manifest, TaskObservation } from './types.js';

/** Fields taskplane sets itself on every task object. */
const RESERVED_METADATA = ['name', 'generateName', 'namespace'] as const;
const EXPRESSIONS = ['successCondition', 'failureCondition', 'runningCondition', 'resultExpression'] as const;

function observe(task: LiveTask, template: CustomResourceTemplate): TaskObservation {
  const holds = (expression: string) => evaluateCel(expression, { self: task.object }) === true;
  // Failure wins when both hold: a half-failed object must not count as a success.
  const result = holds(template.failureCondition) ? 'Failed' : holds(template.successCondition) ? 'Succeeded' : undefined;
  if (result) {
    const taskResult = template.resultExpression === undefined ? undefined : celToJson(evaluateCel(template.resultExpression, { self: task.object }));
    return { state: 'Terminated', result, taskResult };
  }
  const running = template.runningCondition === undefined || holds(template.runningCondition);
  return unlessDeleting(task, { state: running ? 'Running' : 'Starting' });
}

export const customResourceExecutor: Executor<CustomResourceTemplate> = {
  name: 'customResource',
  validate(template, field) {
    const errors: FieldError[] = [];
    const manifest = template.manifest as Partial<Manifest>;
    for (const key of ['apiVersion', 'kind'] as const) {
      if (typeof manifest[key] !== 'string' || manifest[key] === '') {
        errors.push({ field: `${field}.manifest.${key}`, message: 'is required', value: manifest[key], valid: 'e.g. apiVersion: tekton.dev/v1, kind: TaskRun' });
      }
    }
    for (const key of RESERVED_METADATA) {
      if (manifest.metadata?.[key] !== undefined) {
        errors.push({ field: `${field}.manifest.metadata.${key}`, message: 'is set by taskplane for each task; remove it', value: manifest.metadata[key] });
      }
    }
    for (const key of EXPRESSIONS) {
      const expression = template[key];
      const problem = expression === undefined ? undefined : celSyntaxError(expression);
      if (problem) errors.push({ field: `${field}.${key}`, message: `CEL does not compile: ${problem}`, value: expression });
    }
    return errors;
  },
  // Any kind: taskplane knows nothing inside it beyond its own metadata, which render checks.
  validateRendered: () => [],
  manifest(template) {
    const manifest = structuredClone(template.manifest) as unknown as Manifest;
    manifest.metadata = { ...manifest.metadata };
    return manifest;
  },
  observe,
  kill: (task, template) =>
    unlessFinished(observe(task, template), () => {
      if (template.killPatch) return { kind: 'mergePatch', patch: structuredClone(template.killPatch) };
      // Deleting a Git-managed object would only make Argo CD or Flux re-create it, and the task run again.
      if (task.createdByWatcher) return { kind: 'delete' };
      return { kind: 'impossible', why: 'the object is managed by GitOps; declare killPatch to stop Git-managed tasks in place' };
    }),
};

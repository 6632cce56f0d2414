/**
 * render(run, index, attempt): the one function that turns a JobRun into a task object, called by
 * the constructs at synth time (first attempts of Rendered runs) and by the watcher at run time
 * (retries, Deferred runs). Both must produce the same bytes ("render parity").
 */
import { childField, type FieldError } from './errors.js';
import { executorErrors, selectExecutor, type Manifest } from './executors/index.js';
import { canonicalIndexJson, expandIndexes, indexVariables, validateParallelism, type ParallelIndex } from './indexes.js';
import {
  ANNOTATION_ARGOCD_IGNORE_HEALTH,
  ANNOTATION_PARALLEL_INDEX,
  LABEL_CONFIG,
  LABEL_RETRY_INDEX,
  LABEL_RUN,
  LABEL_TASK_INDEX,
  metadataErrors,
} from './labels.js';
import { objectSizeError } from './limits.js';
import { DNS_LABEL_PATTERN, indexNamePart, MAX_RUN_NAME_LENGTH, taskName } from './names.js';
import { retryPolicyErrors } from './retry/validate.js';
import type { JobRunObject } from './schema/resources.js';
import { validateJobRunSpec } from './schema/validate.js';
import { substitute, type VariableScope } from './substitution.js';

/** What only exists once the run is in the cluster, known to the watcher but not at synth. */
export interface RuntimeContext {
  readonly jobUid?: string;
  readonly jobConfigUid?: string;
}

export interface RenderedTask {
  readonly name: string;
  readonly index: ParallelIndex;
  readonly retryIndex: number;
  readonly manifest: Manifest;
}

const TEMPLATE_FIELD = 'spec.template.taskTemplate';
/** Variables render computes for each task; a run's substitutions cannot set them. */
const COMPUTED_VARIABLE = /^(job|task)\./;

/** Everything wrong with a run that can be known without rendering a task. */
export function validateRun(run: JobRunObject): FieldError[] {
  const errors = validateJobRunSpec(run.spec);
  const name = run.metadata.name;
  if (name.length > MAX_RUN_NAME_LENGTH || !DNS_LABEL_PATTERN.test(name)) {
    errors.push({
      field: 'metadata.name',
      message: 'run name must be a DNS label short enough to prefix its task names',
      value: name,
      valid: `lowercase letters, digits and "-", at most ${MAX_RUN_NAME_LENGTH} characters`,
    });
  }
  errors.push(...metadataErrors({ labels: run.metadata.labels }, 'metadata'));
  const template = run.spec.template;
  if (!template?.taskTemplate) return errors;
  errors.push(...validateParallelism(template.parallelism, 'spec.template.parallelism'));
  errors.push(...executorErrors(template.taskTemplate, TEMPLATE_FIELD, errors));
  errors.push(...retryPolicyErrors(template, 'spec.template', errors));
  for (const key of Object.keys(run.spec.substitutions ?? {})) {
    if (COMPUTED_VARIABLE.test(key)) {
      errors.push({ field: childField('spec.substitutions', key), message: 'job.* and task.* variables are computed by taskplane and cannot be set', value: key });
    }
  }
  return errors;
}

/** The variables of one attempt of one index (exported for cache keys, engine/cache/key.ts). */
export function variableScope(run: JobRunObject, index: ParallelIndex, retryIndex: number, runtime: RuntimeContext): VariableScope {
  const { name, namespace } = run.metadata;
  // Furiko's JobConfig context, which a run's substitutions may override (reference/furiko.md §5).
  const values: Record<string, string> = {
    'jobconfig.name': run.spec.configName,
    ...(namespace && { 'jobconfig.namespace': namespace }),
  };
  // A hand-written run may still carry job.* or task.* keys (validateRun rejects them): drop them, so
  // that one can neither override a computed value nor stand in for an unavailable one (job.uid).
  for (const [key, value] of Object.entries(run.spec.substitutions ?? {})) {
    // defineProperty, not assignment: a variable named `__proto__` must not replace the prototype.
    if (!COMPUTED_VARIABLE.test(key)) Object.defineProperty(values, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const unavailable: Record<string, string> = {};
  const atSynth = 'the UID exists only once the object is in the cluster; use it in Deferred runs, which the watcher renders';
  const noNamespace = 'the run has no namespace at synth time; set one on the chart or the JobConfig';
  // Computed variables are set last so a run's substitutions can never override them.
  Object.assign(values, {
    'job.name': name,
    'job.type': run.spec.type ?? 'Adhoc',
    'job.max_attempts': String(run.spec.template.maxAttempts ?? 1),
    'task.name': taskName(name, index, retryIndex),
    'task.retry_index': String(retryIndex),
    ...indexVariables(index),
  });
  if (namespace) Object.assign(values, { 'job.namespace': namespace, 'task.namespace': namespace });
  else Object.assign(unavailable, { 'job.namespace': noNamespace, 'task.namespace': noNamespace, 'jobconfig.namespace': noNamespace });
  if (runtime.jobUid) values['job.uid'] = runtime.jobUid;
  else unavailable['job.uid'] = atSynth;
  if (runtime.jobConfigUid) values['jobconfig.uid'] = runtime.jobConfigUid;
  else unavailable['jobconfig.uid'] = atSynth;
  return { values, unavailable };
}

/**
 * The task object for one parallel index and attempt of a validated run (see `validateRun`).
 * Errors are the run's problems at this index: unknown variables, label values that substitution
 * made invalid.
 */
export function renderTask(run: JobRunObject, index: ParallelIndex, retryIndex: number, runtime: RuntimeContext = {}): { task?: RenderedTask; errors: FieldError[] } {
  const { selected, errors } = selectExecutor(run.spec.template.taskTemplate, TEMPLATE_FIELD);
  if (!selected || errors.length) return { errors };
  const unresolved = selected.executor.manifest(selected.template);
  const field = selected.executor.name === 'customResource' ? `${selected.field}.manifest` : selected.field;
  const substituteTask = selected.executor.substitute ?? substitute<Manifest>;
  const { value: manifest, errors: substitutionErrors } = substituteTask(unresolved, variableScope(run, index, retryIndex, runtime), field);
  const name = taskName(run.metadata.name, index, retryIndex);
  const { labels, annotations, ...otherMetadata } = manifest.metadata;
  manifest.metadata = {
    ...otherMetadata,
    // Last: no template can put a task into another namespace or under another name.
    name,
    ...(run.metadata.namespace && { namespace: run.metadata.namespace }),
    labels: {
      ...labels,
      [LABEL_RUN]: run.metadata.name,
      [LABEL_CONFIG]: run.spec.configName,
      [LABEL_TASK_INDEX]: indexNamePart(run.metadata.name, index),
      [LABEL_RETRY_INDEX]: String(retryIndex),
    },
    annotations: {
      ...annotations,
      [ANNOTATION_PARALLEL_INDEX]: canonicalIndexJson(index),
      [ANNOTATION_ARGOCD_IGNORE_HEALTH]: 'true',
    },
  };
  const sizeError = objectSizeError(manifest, `${manifest.kind} ${name}`);
  const allErrors = [
    ...substitutionErrors,
    ...metadataErrors(manifest.metadata, `${field}.metadata`),
    ...selected.executor.validateRendered(manifest, field),
    ...(sizeError ? [{ ...sizeError, field: sizeError.field === '(object)' ? field : `${field}.${sizeError.field}` }] : []),
  ];
  return allErrors.length ? { errors: allErrors } : { task: { name, index, retryIndex, manifest }, errors: [] };
}

/**
 * The first attempt of every index, as a Rendered run commits them to Git. Errors that repeat at
 * every index (the same bad variable in the template) are reported once.
 */
export function renderFirstAttempts(run: JobRunObject, runtime: RuntimeContext = {}): { tasks: RenderedTask[]; errors: FieldError[] } {
  const errors = validateRun(run);
  if (errors.length) return { tasks: [], errors };
  const tasks: RenderedTask[] = [];
  const indexByName = new Map<string, ParallelIndex>();
  for (const index of expandIndexes(run.spec.template.parallelism)) {
    const result = renderTask(run, index, 0, runtime);
    errors.push(...result.errors);
    if (!result.task) continue;
    const clash = indexByName.get(result.task.name);
    // Distinct indexes hash apart with 50 bits; a clash is astronomically rare but must never ship.
    if (clash) errors.push({ field: 'spec.template.parallelism', message: `indexes ${canonicalIndexJson(clash)} and ${canonicalIndexJson(index)} give the same task name`, value: result.task.name });
    indexByName.set(result.task.name, index);
    tasks.push(result.task);
  }
  return { tasks, errors: dedupe(errors) };
}

/** The same bad variable at every index is one problem, not one per index. */
function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\n${e.message}\n${JSON.stringify(e.value)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

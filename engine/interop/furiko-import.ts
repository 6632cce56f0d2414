/**
 * A Furiko JobConfig (`execution.furiko.io/v1alpha1`) read into a taskplane JobConfig spec. The two
 * models share options, parallelism, retries, pending timeout, concurrency and cron schedules field
 * for field; what differs is moved (`spec.option.options` → `spec.options`,
 * `spec.template.spec.*` → `spec.template.*`), translated (substitution, see furiko.ts) or reported.
 */
import { validateJobConfig } from '../config.js';
import { childField, type FieldError } from '../errors.js';
import type { JobConfigSpec } from '../schema/resources.js';
import { suggest } from '../suggest.js';
import { FURIKO_GROUP_VERSION, fromFurikoText, mapStrings } from './furiko.js';

export interface FurikoImport {
  readonly name?: string;
  readonly namespace?: string;
  /** The JobConfig's labels and its Job template's: taskplane puts one set on the config and its runs. */
  readonly labels: Record<string, string>;
  /** The taskplane spec, when there are no errors. */
  readonly spec?: JobConfigSpec;
  /** Every problem, at Furiko's field paths. */
  readonly errors: FieldError[];
}

/** Set by the API server or Furiko's webhook, never by the author: dropped on import. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'];

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reports keys of `object` outside `known`: unsupported (with the reason) or unknown (with a suggestion). */
function checkKeys(object: Json, field: string, known: readonly string[], errors: FieldError[], unsupported: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const why = unsupported[key];
    if (why !== undefined) {
      errors.push({ field: childField(field, key), message: 'taskplane cannot express this field', value: object[key], valid: why });
      continue;
    }
    const near = suggest(key, [...known, ...Object.keys(unsupported)]);
    errors.push({ field: childField(field, key), message: 'is not a field of a Furiko JobConfig', value: key, valid: near.length ? `did you mean ${near.join(', ')}?` : `one of ${known.join(', ')}` });
  }
}

function record(value: unknown, field: string, errors: FieldError[]): Json {
  if (value === undefined) return {};
  if (isRecord(value)) return value;
  errors.push({ field, message: 'must be an object', value });
  return {};
}

/** Labels of the JobConfig and of its Job template, merged; a key with two values is an error. */
function mergeLabels(config: Json, template: Json, errors: FieldError[]): Record<string, string> {
  const labels: Record<string, string> = { ...(config as Record<string, string>) };
  for (const [key, value] of Object.entries(template)) {
    if (key in labels && labels[key] !== value) {
      errors.push({
        field: childField('spec.template.metadata.labels', key),
        message: `differs from metadata.labels (${JSON.stringify(labels[key])}); taskplane puts one set of labels on the JobConfig and its runs`,
        value,
        valid: 'the same value in both, or the label in one place',
      });
    }
    labels[key] = value as string;
  }
  return labels;
}

/** Reads one Furiko JobConfig object (as parsed from YAML). */
export function readFurikoJobConfig(object: unknown): FurikoImport {
  const errors: FieldError[] = [];
  if (!isRecord(object)) return { labels: {}, errors: [{ field: '', message: 'must be a Furiko JobConfig object', value: object }] };
  if (object.apiVersion !== FURIKO_GROUP_VERSION || object.kind !== 'JobConfig') {
    errors.push({ field: 'apiVersion', message: 'is not a Furiko JobConfig', value: `${String(object.apiVersion)} ${String(object.kind)}`, valid: `apiVersion ${FURIKO_GROUP_VERSION}, kind JobConfig` });
  }
  checkKeys(object, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status'], errors);

  const metadata = record(object.metadata, 'metadata', errors);
  checkKeys(metadata, 'metadata', ['name', 'namespace', 'labels', ...SERVER_METADATA], errors, {
    annotations: 'taskplane JobConfigs carry only labels; put the information in a label or drop it',
    generateName: 'a taskplane JobConfig has a fixed name (runs must refer to it)',
    ownerReferences: 'taskplane JobConfigs are owned by the GitOps application that applies them',
    finalizers: 'taskplane JobConfigs need no finalizer',
  });
  const spec = record(object.spec, 'spec', errors);
  checkKeys(spec, 'spec', ['concurrency', 'schedule', 'option', 'template'], errors);

  const template = record(spec.template, 'spec.template', errors);
  checkKeys(template, 'spec.template', ['metadata', 'spec'], errors);
  const templateMetadata = record(template.metadata, 'spec.template.metadata', errors);
  checkKeys(templateMetadata, 'spec.template.metadata', ['labels'], errors, {
    annotations: 'taskplane runs carry no annotations of the config; put them on the task template (taskTemplate.pod.metadata) or in labels',
    finalizers: 'taskplane runs are garbage-collected with their owner',
  });
  const jobTemplate = record(template.spec, 'spec.template.spec', errors);
  checkKeys(jobTemplate, 'spec.template.spec', ['taskTemplate', 'parallelism', 'maxAttempts', 'retryDelaySeconds', 'taskPendingTimeoutSeconds', 'forbidTaskForceDeletion'], errors);
  // forbidTaskForceDeletion needs no counterpart: the watcher never force-deletes a task.
  const taskTemplate = record(jobTemplate.taskTemplate, 'spec.template.spec.taskTemplate', errors);
  const otherExecutors = Object.fromEntries(Object.keys(taskTemplate).map((key) => [key, "Furiko's executor is pod; use TaskTemplate.job/workflow/customResource in taskplane directly"]));
  checkKeys(taskTemplate, 'spec.template.spec.taskTemplate', ['pod'], errors, otherExecutors);
  const podField = 'spec.template.spec.taskTemplate.pod';
  const hasPod = isRecord(taskTemplate.pod);
  if (!hasPod) errors.push({ field: podField, message: "is required: Furiko's only executor", value: taskTemplate.pod, valid: 'a PodTemplateSpec' });
  // Without a pod, a stand-in keeps validation to the other fields (the spec is not returned).
  const pod = hasPod ? (taskTemplate.pod as Json) : { spec: { containers: [{ name: 'main', image: 'unread' }] } };
  const translated = mapStrings(pod, (text, field) => fromFurikoText(text, field, errors, `${podField}.${field}`)) as Json;

  const schedule = spec.schedule === undefined ? undefined : record(spec.schedule, 'spec.schedule', errors);
  let scheduleSpec: Json | undefined;
  if (schedule) {
    // lastUpdated is written by Furiko's webhook; taskplane's watcher keeps its own record.
    checkKeys(schedule, 'spec.schedule', ['cron', 'disabled', 'constraints', 'lastUpdated'], errors);
    const cron = record(schedule.cron, 'spec.schedule.cron', errors);
    const constraints = record(schedule.constraints, 'spec.schedule.constraints', errors);
    checkKeys(cron, 'spec.schedule.cron', ['expression', 'expressions', 'timezone'], errors);
    checkKeys(constraints, 'spec.schedule.constraints', ['notBefore', 'notAfter'], errors);
    // Only known keys go on, so the schema does not report a reported key again.
    scheduleSpec = {
      cron: pick(cron, ['expression', 'expressions', 'timezone']),
      ...pick(schedule, ['disabled']),
      ...(schedule.constraints !== undefined && { constraints: pick(constraints, ['notBefore', 'notAfter']) }),
    };
  }
  const option = record(spec.option, 'spec.option', errors);
  checkKeys(option, 'spec.option', ['options'], errors);

  const labels = mergeLabels(record(metadata.labels, 'metadata.labels', errors), record(templateMetadata.labels, 'spec.template.metadata.labels', errors), errors);
  const result: JobConfigSpec = {
    template: {
      taskTemplate: { pod: translated as never },
      ...pick(jobTemplate, ['parallelism', 'maxAttempts', 'retryDelaySeconds', 'taskPendingTimeoutSeconds']),
    },
    concurrency: spec.concurrency as JobConfigSpec['concurrency'],
    ...(scheduleSpec && { schedule: scheduleSpec as JobConfigSpec['schedule'] }),
    ...(option.options !== undefined && { options: option.options as JobConfigSpec['options'] }),
  };
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  if (name === undefined) errors.push({ field: 'metadata.name', message: 'is required', value: metadata.name, valid: 'a DNS label of at most 49 characters' });
  // The same checks a JobConfig construct makes, reported at Furiko's paths.
  errors.push(...validateJobConfig(name ?? 'unnamed', result).map((e) => ({ ...e, field: furikoField(e.field) })));
  return { ...(name !== undefined && { name }), ...(namespace !== undefined && { namespace }), labels, ...(errors.length === 0 && { spec: result }), errors };
}

function pick(object: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]));
}

/** A taskplane JobConfig field as the Furiko field it came from. */
export function furikoField(field: string): string {
  if (field === 'spec.options' || field.startsWith('spec.options[')) return `spec.option.options${field.slice('spec.options'.length)}`;
  if (field === 'spec.template') return field;
  if (field.startsWith('spec.template.')) return `spec.template.spec.${field.slice('spec.template.'.length)}`;
  return field;
}

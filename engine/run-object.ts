/**
 * Building a JobRun from a JobConfig: the option values evaluated, every variable resolved, the
 * template snapshotted. Shared by `config.run(...)` at synth and `taskplane run` against a cluster,
 * so a run means the same thing however it was made.
 */
import { childField, type FieldError } from './errors.js';
import { LABEL_CONFIG } from './labels.js';
import { evaluateOptions } from './options/index.js';
import { GROUP_VERSION, type ConcurrencyPolicy, type JobConfigSpec, type JobRunObject, type MaterializationMode } from './schema/resources.js';
import type { JobTemplate } from './schema/template.js';
import { isReservedVariable } from './substitution.js';

export interface RunRequest {
  readonly name: string;
  /** Option values as given: JSON, and `Date`s (stored as RFC 3339 in UTC). */
  readonly optionValues?: Readonly<Record<string, unknown>>;
  /** User variables; names in taskplane's namespaces are reserved. */
  readonly substitutions?: Readonly<Record<string, string>>;
  readonly materialization?: MaterializationMode;
  readonly startAfter?: string;
  /** Overrides the JobConfig's concurrency policy for this (Deferred) run, as Furiko's `startPolicy` does. */
  readonly concurrencyPolicy?: ConcurrencyPolicy;
  readonly killTimestamp?: string;
  /** Labels for the JobRun (the config's label is added). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Labels every task of the run carries, e.g. a cdk8s chart's labels (copied into the template snapshot). */
  readonly taskLabels?: Readonly<Record<string, string>>;
}

export interface ConfigRef {
  readonly name: string;
  readonly namespace?: string;
  readonly spec: JobConfigSpec;
}

/** The JobRun for `request`, and every problem with the request (the config itself is validated apart). */
export function buildRun(config: ConfigRef, request: RunRequest): { run: JobRunObject; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const given = Object.fromEntries(Object.entries(request.optionValues ?? {}).filter(([, value]) => value !== undefined));
  const evaluated = evaluateOptions(config.spec.options ?? [], given, 'spec.optionValues');
  errors.push(...evaluated.errors);
  const optionValues = storedOptionValues(given, evaluated.values);
  // Entries, not assignments: a user variable named `__proto__` is a variable like any other.
  const substitutions: [string, string][] = [];
  for (const [key, value] of Object.entries(request.substitutions ?? {})) {
    if (isReservedVariable(key)) {
      errors.push({ field: childField('spec.substitutions', key), message: 'names in option., job., jobconfig. and task. are reserved', value: key, valid: 'a name without those prefixes, e.g. "region"' });
    } else substitutions.push([key, value]);
  }
  for (const [name, value] of Object.entries(evaluated.values)) substitutions.push([`option.${name}`, value]);
  substitutions.push(['jobconfig.name', config.name]);
  if (config.namespace) substitutions.push(['jobconfig.namespace', config.namespace]);
  const run: JobRunObject = {
    apiVersion: GROUP_VERSION,
    kind: 'JobRun',
    metadata: {
      name: request.name,
      ...(config.namespace && { namespace: config.namespace }),
      labels: { ...request.labels, [LABEL_CONFIG]: config.name },
    },
    spec: {
      configName: config.name,
      type: 'Adhoc',
      ...(Object.keys(optionValues).length > 0 && { optionValues }),
      substitutions: Object.fromEntries(substitutions),
      template: snapshotTemplate(config.spec.template, request.taskLabels ?? {}),
      materialization: request.materialization ?? 'Rendered',
      ...(request.startAfter && { startAfter: request.startAfter }),
      ...(request.concurrencyPolicy && { concurrencyPolicy: request.concurrencyPolicy }),
      ...(request.killTimestamp && { killTimestamp: request.killTimestamp }),
    },
  };
  return { run, errors };
}

/**
 * `spec.optionValues` keeps what `spec.substitutions` cannot say: values whose rendered text differs
 * from what was given (a bool, a list, a reformatted date, a trimmed string). A string rendered
 * unchanged is stored once, as `option.<name>` in substitutions, so a large value does not count
 * twice against the object size limit. Dates are stored as RFC 3339 in UTC.
 */
function storedOptionValues(given: Readonly<Record<string, unknown>>, rendered: Readonly<Record<string, string>>): Record<string, unknown> {
  const stored: [string, unknown][] = [];
  for (const [name, value] of Object.entries(given)) {
    if (typeof value === 'string' && Object.hasOwn(rendered, name) && rendered[name] === value) continue;
    if (value instanceof Date) {
      // An invalid Date is reported by evaluation; it has no text to store.
      if (!Number.isNaN(value.getTime())) stored.push([name, value.toISOString()]);
    } else stored.push([name, value]);
  }
  return Object.fromEntries(stored);
}

/**
 * The run keeps its own copy of the template, so later edits of the JobConfig never change a
 * started run. Task labels go into the template so that retries carry them too.
 */
function snapshotTemplate(template: JobTemplate, taskLabels: Readonly<Record<string, string>>): JobTemplate {
  const copy = structuredClone(template);
  if (Object.keys(taskLabels).length === 0) return copy;
  const [executor] = Object.keys(copy.taskTemplate) as (keyof JobTemplate['taskTemplate'])[];
  if (executor === 'customResource') {
    const manifest = copy.taskTemplate.customResource!.manifest as { metadata?: { labels?: Record<string, string> } };
    manifest.metadata = { ...manifest.metadata, labels: { ...taskLabels, ...manifest.metadata?.labels } };
  } else if (executor) {
    const typed = copy.taskTemplate[executor]!;
    typed.metadata = { ...typed.metadata, labels: { ...taskLabels, ...typed.metadata?.labels } };
  }
  return copy;
}

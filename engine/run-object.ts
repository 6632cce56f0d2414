/**
 * Building a JobRun from a JobConfig: the option values evaluated, every variable resolved, the
 * template snapshotted. Shared by `config.run(...)` at synth and `taskplane run` against a cluster,
 * so a run means the same thing however it was made.
 */
import { childField, type FieldError } from './errors.js';
import { LABEL_CONFIG } from './labels.js';
import { evaluateOptions } from './options/index.js';
import type { OptionSpec } from './schema/option.js';
import { GROUP_VERSION, type ConcurrencyPolicy, type JobConfigSpec, type JobRunObject, type MaterializationMode } from './schema/resources.js';
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
  /** Create every task even when the JobConfig's cache has its result (successes are still recorded). */
  readonly skipCache?: boolean;
  /** Labels for the JobRun (the config's label is added). */
  readonly labels?: Readonly<Record<string, string>>;
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
      // The run keeps its own copy, so later edits of the JobConfig never change a started run; it is
      // the config's exactly, which the watcher checks (engine/run/admission.ts).
      template: structuredClone(config.spec.template),
      materialization: request.materialization ?? 'Rendered',
      ...(request.startAfter && { startAfter: request.startAfter }),
      ...(request.concurrencyPolicy && { concurrencyPolicy: request.concurrencyPolicy }),
      ...(request.killTimestamp && { killTimestamp: request.killTimestamp }),
      ...(request.skipCache && { skipCache: true }),
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
 * The option values a run was given, read back from how they are stored (storedOptionValues):
 * `spec.optionValues`, plus each string stored only as its `option.<name>` substitution, when it is
 * not simply the default's text and is a value the option accepts and renders unchanged. Anything
 * else in a substitution was not given through the option, and the caller sees it differ.
 */
export function givenOptionValues(run: Pick<JobRunObject, 'spec'>, options: readonly OptionSpec[]): Record<string, unknown> {
  const stored = run.spec.optionValues ?? {};
  const substitutions = run.spec.substitutions ?? {};
  const withDefaults = evaluateOptions(options, stored).values;
  const given: [string, unknown][] = Object.entries(stored);
  for (const option of options) {
    const key = `option.${option.name}`;
    if (Object.hasOwn(stored, option.name) || !Object.hasOwn(substitutions, key) || withDefaults[option.name] === substitutions[key]) continue;
    const alone = evaluateOptions([option], { [option.name]: substitutions[key] });
    if (alone.errors.length === 0 && alone.values[option.name] === substitutions[key]) given.push([option.name, substitutions[key]]);
  }
  return Object.fromEntries(given);
}

/**
 * Building a JobRun from a JobConfig: the option values evaluated, every variable resolved, the
 * template snapshotted. Shared by `config.run(...)` at synth and `taskplane run` against a cluster,
 * so a run means the same thing however it was made.
 */
import type { FieldError } from './errors.js';
import { LABEL_CONFIG } from './labels.js';
import { evaluateOptions } from './options/index.js';
import { GROUP_VERSION, type ConcurrencyPolicy, type JobConfigSpec, type JobRunObject, type MaterializationMode } from './schema/resources.js';
import { isReservedVariable } from './substitution.js';

export interface RunRequest {
  readonly name: string;
  /** Option values as given (JSON; dates as RFC 3339 strings). */
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
}

export interface ConfigRef {
  readonly name: string;
  readonly namespace?: string;
  readonly spec: JobConfigSpec;
}

/** The JobRun for `request`, and every problem with the request (the config itself is validated apart). */
export function buildRun(config: ConfigRef, request: RunRequest): { run: JobRunObject; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const optionValues = { ...request.optionValues };
  const evaluated = evaluateOptions(config.spec.options ?? [], optionValues, 'spec.optionValues');
  errors.push(...evaluated.errors);
  const substitutions: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.substitutions ?? {})) {
    if (isReservedVariable(key)) {
      errors.push({ field: `spec.substitutions.${key}`, message: 'names in option., job., jobconfig. and task. are reserved', value: key, valid: 'a name without those prefixes, e.g. "region"' });
    } else substitutions[key] = value;
  }
  for (const [name, value] of Object.entries(evaluated.values)) substitutions[`option.${name}`] = value;
  substitutions['jobconfig.name'] = config.name;
  if (config.namespace) substitutions['jobconfig.namespace'] = config.namespace;
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
      substitutions,
      // The run keeps its own copy, so later edits of the JobConfig never change a started run; it is
      // the config's exactly, which the watcher checks (engine/run/admission.ts).
      template: structuredClone(config.spec.template),
      materialization: request.materialization ?? 'Rendered',
      ...(request.startAfter && { startAfter: request.startAfter }),
      ...(request.concurrencyPolicy && { concurrencyPolicy: request.concurrencyPolicy }),
      ...(request.killTimestamp && { killTimestamp: request.killTimestamp }),
    },
  };
  return { run, errors };
}


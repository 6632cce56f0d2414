import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { FieldError } from '../engine/errors.js';
import { LABEL_CONFIG } from '../engine/labels.js';
import { evaluateOptions } from '../engine/options/index.js';
import { renderFirstAttempts } from '../engine/render.js';
import { GROUP_VERSION, type JobRunObject, type JobRunSpec } from '../engine/schema/resources.js';
import type { JobTemplate } from '../engine/schema/template.js';
import { isReservedVariable } from '../engine/substitution.js';
import { addFieldValidation } from './_validation.js';
import type { JobConfig } from './job-config.js';
import type { NeedsValueKeys, OptionDefinitions, OptionValues } from './option.js';

/** How a run's tasks come to exist. */
export enum Materialization {
  /** The first attempt of every index is rendered into Git and starts when GitOps applies it. */
  RENDERED = 'Rendered',
  /** Only the JobRun is in Git; the watcher creates the tasks when the run may start (concurrency, startAfter). */
  DEFERRED = 'Deferred',
}

export interface JobRunCommonProps {
  /**
   * The run's name; its task objects are named `<run>-<index>-<attempt>`.
   * @default - `<config name>-<id>`
   */
  readonly name?: string;
  /**
   * Extra variables for `${<name>}`, e.g. `{ region: 'eu-west-1' }`. Names in taskplane's
   * namespaces (`option.`, `job.`, `jobconfig.`, `task.`) are reserved.
   * @default - none
   */
  readonly substitutions?: Readonly<Record<string, string>>;
  /**
   * @default Materialization.RENDERED - tasks are reviewable in Git and start when applied
   */
  readonly materialization?: Materialization;
  /**
   * Deferred runs start no earlier than this.
   * @default - as soon as concurrency allows
   */
  readonly startAfter?: Date;
  /**
   * Kill the run at this time: unfinished tasks are stopped in place.
   * @default - never
   */
  readonly killAt?: Date;
}

/** `options` is mandatory exactly when an option needs a value (required without default). */
type OptionsProp<O extends OptionDefinitions> = [NeedsValueKeys<O>] extends [never]
  ? { readonly options?: OptionValues<O> }
  : { readonly options: OptionValues<O> };

export type JobRunProps<O extends OptionDefinitions> = JobRunCommonProps & OptionsProp<O>;

/** Lets synth check variables of Deferred runs, whose UIDs only the watcher will know. */
const UID_STAND_IN = '00000000-0000-0000-0000-000000000000';

/**
 * One execution of a JobConfig, created with `config.run(id, props)`: the JobRun object (a frozen
 * snapshot of the template, option values and variables) and, for Rendered runs, the first
 * attempt of every task index.
 */
export class JobRun extends Construct {
  public readonly name: string;
  /** The JobRun as applied to the cluster. */
  public readonly object: JobRunObject;
  /** Names of the task objects rendered into Git (Rendered runs). */
  public readonly taskNames: readonly string[];

  public constructor(config: JobConfig<any>, id: string, props: JobRunProps<OptionDefinitions>) {
    super(config, id);
    this.name = props.name ?? `${config.name}-${id}`;
    const problems: FieldError[] = [];
    const optionValues = jsonOptionValues(props.options ?? {});
    const evaluated = evaluateOptions(config._spec.options ?? [], optionValues, 'spec.optionValues');
    problems.push(...evaluated.errors);
    const substitutions: Record<string, string> = {};
    for (const [key, value] of Object.entries(props.substitutions ?? {})) {
      if (isReservedVariable(key)) problems.push({ field: `spec.substitutions.${key}`, message: 'names in option., job., jobconfig. and task. are reserved', value: key, valid: 'a name without those prefixes, e.g. "region"' });
      else substitutions[key] = value;
    }
    for (const [name, value] of Object.entries(evaluated.values)) substitutions[`option.${name}`] = value;
    substitutions['jobconfig.name'] = config.name;
    if (config.namespace) substitutions['jobconfig.namespace'] = config.namespace;

    const materialization = props.materialization ?? Materialization.RENDERED;
    const spec: JobRunSpec = {
      configName: config.name,
      type: 'Adhoc',
      ...(Object.keys(optionValues).length > 0 && { optionValues }),
      substitutions,
      template: snapshotTemplate(config._spec.template, Chart.of(this).labels),
      materialization,
      ...(props.startAfter && { startAfter: props.startAfter.toISOString() }),
      ...(props.killAt && { killTimestamp: props.killAt.toISOString() }),
    };
    this.object = {
      apiVersion: GROUP_VERSION,
      kind: 'JobRun',
      metadata: { name: this.name, ...(config.namespace && { namespace: config.namespace }), labels: { ...config._labels, [LABEL_CONFIG]: config.name } },
      spec,
    };
    new ApiObject(this, 'Resource', { ...this.object });

    // A broken definition is reported once, by the JobConfig; its runs would only repeat it.
    const rendered = config._invalid || problems.length
      ? { tasks: [], errors: [] }
      : renderFirstAttempts(this.object, materialization === Materialization.DEFERRED ? { jobUid: UID_STAND_IN, jobConfigUid: UID_STAND_IN } : {});
    problems.push(...rendered.errors);
    const tasks = materialization === Materialization.RENDERED ? rendered.tasks : [];
    for (const task of tasks) new ApiObject(this, task.name, task.manifest);
    this.taskNames = tasks.map((t) => t.name);
    addFieldValidation(this, () => problems);
  }
}

/** Option values as they are stored in `spec.optionValues`: JSON, dates as RFC 3339 in UTC. */
function jsonOptionValues(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));
}

/**
 * The run keeps its own copy of the template, so later edits of the JobConfig never change a
 * started run. Chart labels go into the task metadata so that retries carry them too.
 */
function snapshotTemplate(template: JobTemplate, chartLabels: Readonly<Record<string, string>>): JobTemplate {
  const copy = structuredClone(template);
  if (Object.keys(chartLabels).length === 0) return copy;
  const [executor] = Object.keys(copy.taskTemplate) as (keyof JobTemplate['taskTemplate'])[];
  if (executor === 'customResource') {
    const manifest = copy.taskTemplate.customResource!.manifest as { metadata?: { labels?: Record<string, string> } };
    manifest.metadata = { ...manifest.metadata, labels: { ...chartLabels, ...manifest.metadata?.labels } };
  } else if (executor) {
    const typed = copy.taskTemplate[executor]!;
    typed.metadata = { ...typed.metadata, labels: { ...chartLabels, ...typed.metadata?.labels } };
  }
  return copy;
}

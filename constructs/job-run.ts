import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { renderFirstAttempts } from '../engine/render.js';
import type { ConcurrencyPolicy, JobRunObject } from '../engine/schema/resources.js';
import { buildRun } from '../engine/run-object.js';
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
   * How this Deferred run waits for the JobConfig's other runs: 'Allow', 'Forbid' (rejected while
   * `maxConcurrency` runs are active) or 'Enqueue' (waits its turn).
   * @default - the JobConfig's concurrency policy
   */
  readonly concurrencyPolicy?: ConcurrencyPolicy;
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

const JOB_RUN_BRAND = Symbol.for('taskplane.JobRun');

/** Lets synth check variables of Deferred runs, whose UIDs only the watcher will know. */
const UID_STAND_IN = '00000000-0000-0000-0000-000000000000';

/**
 * One execution of a JobConfig, created with `config.run(id, props)`: the JobRun object (a frozen
 * snapshot of the template, option values and variables) and, for Rendered runs, the first
 * attempt of every task index.
 */
export class JobRun extends Construct {
  /** Whether `x` is a JobRun from any copy of taskplane (see `JobConfig.isJobConfig`). */
  public static isJobRun(x: unknown): x is JobRun {
    return typeof x === 'object' && x !== null && JOB_RUN_BRAND in x;
  }

  public readonly name: string;
  /** The JobRun as applied to the cluster. */
  public readonly object: JobRunObject;
  /** Names of the task objects rendered into Git (Rendered runs). */
  public readonly taskNames: readonly string[];

  public constructor(config: JobConfig<any>, id: string, props: JobRunProps<OptionDefinitions>) {
    super(config, id);
    Object.defineProperty(this, JOB_RUN_BRAND, { value: true });
    this.name = props.name ?? `${config.name}-${id}`;
    const materialization = props.materialization ?? Materialization.RENDERED;
    const { run, errors: problems } = buildRun(
      { name: config.name, namespace: config.namespace, spec: config._spec },
      {
        name: this.name,
        optionValues: jsonOptionValues(props.options ?? {}),
        substitutions: props.substitutions,
        materialization,
        startAfter: props.startAfter?.toISOString(),
        concurrencyPolicy: props.concurrencyPolicy,
        killTimestamp: props.killAt?.toISOString(),
        labels: config._labels,
      },
    );
    this.object = run;
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

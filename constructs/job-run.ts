import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { childField, type FieldError } from '../engine/errors.js';
import { objectSizeError } from '../engine/limits.js';
import { MAX_RUN_NAME_LENGTH } from '../engine/names.js';
import { renderFirstAttempts } from '../engine/render.js';
import type { ConcurrencyPolicy, JobRunObject } from '../engine/schema/resources.js';
import { buildRun } from '../engine/run-object.js';
import { addFieldValidation, quotesAmbiguousStrings, unwritable } from './_validation.js';
import { misreadStrings } from './_yaml.js';
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
   * The run's name, a DNS label of at most 46 characters; its task objects are named
   * `<run>-<index>-<attempt>`.
   * @default - `<config name>-<id>` (so a JobConfig name over 44 characters needs an explicit run name)
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
  /**
   * Run every task even when the JobConfig's cache has a result for it (its successes still refresh
   * the cache). The only way to use a caching JobConfig in a Rendered run.
   * @default false - tasks with a fresh cached result are not run
   */
  readonly skipCache?: boolean;
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
    const problems: FieldError[] = [];
    const { run, errors } = buildRun(
      { name: config.name, namespace: config.namespace, spec: config._spec },
      {
        name: this.name,
        optionValues: props.options ?? {},
        substitutions: props.substitutions,
        materialization,
        startAfter: timestamp(props.startAfter, 'spec.startAfter', problems),
        concurrencyPolicy: props.concurrencyPolicy,
        killTimestamp: timestamp(props.killAt, 'spec.killTimestamp', problems),
        skipCache: props.skipCache,
        labels: config._labels,
      },
    );
    this.object = run;
    new ApiObject(this, 'Resource', { ...this.object });

    // A broken definition is reported once, by the JobConfig: its runs skip what would only repeat
    // it (rendering, and errors of option defaults they did not override).
    problems.push(...(config._invalid ? errors.filter((e) => givenOption(e, props.options ?? {})) : errors));
    const defaultNameTooLong = props.name === undefined && this.name.length > MAX_RUN_NAME_LENGTH;
    if (defaultNameTooLong) {
      problems.push({
        field: 'metadata.name',
        message: `the default run name "<config>-<id>" is ${this.name.length} characters; a JobConfig name over ${MAX_RUN_NAME_LENGTH - 2} characters leaves no room for it`,
        value: this.name,
        valid: `a run \`name\` of at most ${MAX_RUN_NAME_LENGTH} characters, or a shorter JobConfig name or run id`,
      });
    }
    if (run.spec.template.cache && materialization === Materialization.RENDERED && !props.skipCache) {
      problems.push({
        field: 'spec.materialization',
        message: "a Rendered run cannot use its JobConfig's cache: GitOps applies its first attempts whatever a cached result says",
        value: materialization,
        valid: 'materialization: Materialization.DEFERRED (the watcher creates the tasks, and answers them from the cache), or skipCache: true (every task runs)',
      });
    }
    const { template: _configTemplate, ...ownSpec } = run.spec;
    const sizeError = objectSizeError(run, 'JobRun');
    // The template is the config's, checked there.
    problems.push(...unwritable(this, ownSpec, 'spec'), ...(sizeError ? [sizeError] : []));

    const rendered = config._invalid
      ? { tasks: [], errors: [] }
      : renderFirstAttempts(this.object, materialization === Materialization.DEFERRED ? { jobUid: UID_STAND_IN, jobConfigUid: UID_STAND_IN } : {});
    // An option whose value failed is absent from the substitutions: its uses would only repeat its error.
    const failedOptions = new Set(
      (config._spec.options ?? []).filter((option) => !Object.hasOwn(run.spec.substitutions, `option.${option.name}`)).map((option) => `\${option.${option.name}}`),
    );
    const repeated = (e: FieldError) => failedOptions.has(e.value as string) || (defaultNameTooLong && e.field === 'metadata.name');
    problems.push(...rendered.errors.filter((e) => !repeated(e)));
    const tasks = materialization === Materialization.RENDERED ? rendered.tasks : [];
    // The template's keys and strings were checked with the JobConfig; substituted values were not.
    const [executor] = Object.keys(run.spec.template.taskTemplate);
    const taskField = `spec.template.taskTemplate.${executor === 'customResource' ? 'customResource.manifest' : executor}`;
    const checkStrings = !quotesAmbiguousStrings(this);
    for (const task of tasks) {
      new ApiObject(this, task.name, task.manifest);
      if (checkStrings) misreadStrings(task.manifest, taskField, problems);
    }
    this.taskNames = tasks.map((t) => t.name);
    addFieldValidation(this, () => problems);
  }
}

/** A `Date` as the RFC 3339 text the API server stores; an invalid Date is an error instead of a crash. */
function timestamp(date: Date | undefined, field: string, problems: FieldError[]): string | undefined {
  if (date === undefined) return undefined;
  if (Number.isNaN(date.getTime())) {
    problems.push({ field, message: 'invalid Date', value: String(date), valid: 'a valid Date, e.g. new Date("2026-11-23T01:00:00Z")' });
    return undefined;
  }
  return date.toISOString();
}

/** Whether an option error is about a value the run gave (not about the config's default). */
function givenOption(error: FieldError, options: Readonly<Record<string, unknown>>): boolean {
  if (!error.field.startsWith('spec.optionValues')) return true;
  return Object.keys(options).some((name) => {
    const field = childField('spec.optionValues', name);
    return error.field === field || error.field.startsWith(`${field}[`);
  });
}

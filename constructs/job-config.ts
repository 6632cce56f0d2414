import { ApiObject, Chart, type Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { validateJobConfig } from '../engine/config.js';
import { nestErrors } from '../engine/errors.js';
import { GROUP_VERSION, type JobConfigSpec } from '../engine/schema/resources.js';
import { addFieldValidation } from './_validation.js';
import { Concurrency } from './concurrency.js';
import { JobRun, type JobRunProps } from './job-run.js';
import type { OptionDefinitions } from './option.js';
import type { Parallelism } from './parallelism.js';
import type { Schedule } from './schedule.js';
import type { TaskTemplate } from './task-template.js';

export interface JobConfigProps<O extends OptionDefinitions> {
  /**
   * The JobConfig's name, also the prefix of its runs' names.
   * @default - the construct id, unchanged (no hash suffix: the name you chose is the name in the cluster)
   */
  readonly name?: string;
  /**
   * @default - the chart's namespace; with none, the namespace GitOps applies into
   */
  readonly namespace?: string;
  /** What each task is: `TaskTemplate.pod(...)`, `.job(...)`, `.workflow(...)` or `.customResource(...)`. */
  readonly task: TaskTemplate;
  /**
   * Parallel tasks per run.
   * @default - one task per run
   */
  readonly parallelism?: Parallelism;
  /**
   * Attempts per task index (1 to 50).
   * @default 1 - a failed task fails its index
   */
  readonly maxAttempts?: number;
  /**
   * Wait before retrying an index, from that index's last finish.
   * @default - retry at once
   */
  readonly retryDelay?: Duration;
  /**
   * Kill a task that has not started running after this long; it counts as a failed attempt.
   * @default Duration.minutes(15) - Furiko's default; Duration.seconds(0) turns it off
   */
  readonly pendingTimeout?: Duration;
  /**
   * Kill a task that runs longer than this; it counts as a failed attempt.
   * @default - no limit
   */
  readonly taskTimeout?: Duration;
  /**
   * How runs may overlap (enforced by the watcher for Deferred runs).
   * @default Concurrency.allow()
   */
  readonly concurrency?: Concurrency;
  /**
   * Typed options, by name: `${option.<name>}` in the template, `options: {...}` in `run(...)`.
   * @default - no options
   */
  readonly options?: O;
  /**
   * When the watcher creates runs by itself (`Schedule.cron('H 2 * * *', { timezone: 'Europe/Berlin' })`),
   * with the option defaults, under `concurrency`. Options without a default cannot be scheduled.
   * @default - no schedule: runs are created in Git or with `taskplane run`
   */
  readonly schedule?: Schedule;
  /**
   * Labels on the JobConfig and its JobRuns.
   * @default - only taskplane's
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A job definition: its task template, parallelism, retries, timeouts, concurrency and options.
 * Runs are created with `config.run(id, {...})`.
 */
export class JobConfig<O extends OptionDefinitions = {}> extends Construct {
  /** The name in the cluster. */
  public readonly name: string;
  /** The namespace, when one is known at synth time. */
  public readonly namespace?: string;
  /** The definition as it appears in `spec`. @internal */
  public readonly _spec: JobConfigSpec;
  /** @internal */
  public readonly _labels: Readonly<Record<string, string>>;
  /** True when the definition has problems (reported by validation); runs then skip rendering. @internal */
  public readonly _invalid: boolean;

  public constructor(scope: Construct, id: string, props: JobConfigProps<O>) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this._labels = { ...props.labels };
    const options = Object.entries(props.options ?? {}).map(([name, option]) => option._toSpec(name));
    this._spec = {
      template: {
        taskTemplate: props.task._toSpec(),
        ...(props.parallelism && { parallelism: props.parallelism._toSpec() }),
        ...(props.maxAttempts !== undefined && { maxAttempts: props.maxAttempts }),
        ...(props.retryDelay && { retryDelaySeconds: props.retryDelay.toSeconds() }),
        ...(props.pendingTimeout && { taskPendingTimeoutSeconds: props.pendingTimeout.toSeconds() }),
        ...(props.taskTimeout && { taskTimeoutSeconds: props.taskTimeout.toSeconds() }),
      },
      concurrency: (props.concurrency ?? Concurrency.allow())._toSpec(),
      ...(props.schedule && { schedule: props.schedule._toSpec() }),
      ...(options.length > 0 && { options }),
    };
    const problems = [...nestErrors('spec.template.taskTemplate', props.task._problems), ...validateJobConfig(this.name, this._spec)];
    this._invalid = problems.length > 0;
    addFieldValidation(this, () => problems);

    const annotations = props.schedule?._annotations(this.namespace, this.name);
    new ApiObject(this, 'Resource', {
      apiVersion: GROUP_VERSION,
      kind: 'JobConfig',
      metadata: { name: this.name, namespace: this.namespace, labels: this._labels, ...(annotations && { annotations }) },
      spec: this._spec,
    });
  }

  /** A run of this job. Option values are type-checked against the options' definitions. */
  public run(id: string, props: JobRunProps<O>): JobRun {
    return new JobRun(this, id, props);
  }
}

import { ApiObject, Chart, type Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { validateJobConfig } from '../engine/config.js';
import { nestErrors, type FieldError } from '../engine/errors.js';
import { metadataErrors } from '../engine/labels.js';
import { objectSizeError } from '../engine/limits.js';
import { DNS_LABEL_PATTERN } from '../engine/names.js';
import { GROUP_VERSION, type JobConfigSpec } from '../engine/schema/resources.js';
import type { RetryBackoffSpec } from '../engine/schema/template.js';
import { withTaskLabels } from '../engine/template-labels.js';
import { addFieldValidation, unwritable } from './_validation.js';
import { Concurrency } from './concurrency.js';
import { jobConfigFromFunctionSpec, type FunctionSpec, type FunctionSpecJobProps } from './function-spec.js';
import type { FurikoJobConfigObject } from '../engine/interop/furiko-export.js';
import { furikoJobConfigOf, jobConfigFromFuriko } from './furiko.js';
import { JobRun, type JobRunProps } from './job-run.js';
import type { OptionDefinitions } from './option.js';
import type { Parallelism } from './parallelism.js';
import type { RetryRule } from './retry-rule.js';
import type { Schedule } from './schedule.js';
import { _cacheSpec, type TaskCacheProps } from './task-cache.js';
import type { TaskTemplate } from './task-template.js';

export interface JobConfigProps<O extends OptionDefinitions> {
  /**
   * The JobConfig's name (a DNS label), also the prefix of its runs' default names `<name>-<id>`,
   * which are at most 46 characters: over 44 characters, every run needs its own `name`.
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
   * How retry delays grow: each retry waits `factor` times the one before (the first waits
   * `retryDelay`), at most `maxDelay`, shortened by up to `jitter` (a fraction, fixed per run, index
   * and attempt, so retries of many indexes spread out).
   * @default - every retry waits `retryDelay`
   */
  readonly retryBackoff?: RetryBackoff;
  /**
   * What to do after an attempt that did not succeed, by the first rule that holds
   * (`RetryRule.onExitCodes([42]).failIndex()`, `RetryRule.onEviction().retryNotCounted()`).
   * @default - none: every failed attempt is retried while the index has attempts left
   */
  readonly retryRules?: readonly RetryRule[];
  /**
   * Per index, how many retries RetryNotCounted rules may add beyond `maxAttempts` (0 to 49);
   * past it, such an attempt counts, so that a task evicted again and again still ends.
   * @default 10
   */
  readonly maxUncountedRetries?: number;
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
   * Reuse the result of an identical task that succeeded recently instead of running it again
   * (`{ version: '1', maxAge: Duration.days(1) }`). Runs must then be Deferred (or `skipCache`).
   * @default - no caching: every task runs
   */
  readonly cache?: TaskCacheProps;
  /**
   * Labels on the JobConfig and its JobRuns.
   * @default - only taskplane's
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Let a run carry its own task template instead of this config's (same executor kind only). Whoever
   * may create JobRuns in the namespace can then have the watcher create any task of that kind, as a
   * Kubernetes Job creator can create any Pod (Pod Security admission is then the limit).
   * @default false - the watcher refuses a run whose template is not this config's (AdmissionError
   * TemplateNotAllowed), so a run author gets no more than the config grants
   */
  readonly allowCustomTemplates?: boolean;
}

/** Exponential retry delays: see `JobConfigProps.retryBackoff`. */
export interface RetryBackoff {
  /** @default 1 - every retry waits the same */
  readonly factor?: number;
  /** @default - no limit */
  readonly maxDelay?: Duration;
  /** @default 0 - delays are exact */
  readonly jitter?: number;
}

/** A namespace is a DNS label; the JobConfig, its runs and their tasks all live in it. */
function namespaceErrors(namespace: string | undefined): FieldError[] {
  if (namespace === undefined || (namespace.length <= 63 && DNS_LABEL_PATTERN.test(namespace))) return [];
  return [{ field: 'metadata.namespace', message: 'is not a valid namespace name', value: namespace, valid: 'a DNS label: lowercase letters, digits and "-", at most 63 characters' }];
}

function retryBackoffSpec({ factor, maxDelay, jitter }: RetryBackoff): RetryBackoffSpec {
  return { ...(factor !== undefined && { factor }), ...(maxDelay && { maxDelaySeconds: maxDelay.toSeconds() }), ...(jitter !== undefined && { jitter }) };
}

const JOB_CONFIG_BRAND = Symbol.for('taskplane.JobConfig');

/**
 * A job definition: its task template, parallelism, retries, timeouts, concurrency and options.
 * Runs are created with `config.run(id, {...})`.
 */
export class JobConfig<O extends OptionDefinitions = {}> extends Construct {
  /**
   * Whether `x` is a JobConfig from any copy of taskplane: an app can load two (a library of its own
   * depending on another version), and `instanceof` is false across copies.
   */
  public static isJobConfig(x: unknown): x is JobConfig<any> {
    return typeof x === 'object' && x !== null && JOB_CONFIG_BRAND in x;
  }

  /**
   * Runs a ColonyOS function spec (the KubeExecutor's `execute`): each attempt is one indexed batch
   * Job of `nodes` Pods with `processes-per-node` containers; `walltime` is its activeDeadlineSeconds,
   * `maxexectime` the task timeout, `maxretries` the retries. Problems are synth errors (docs/synth.md).
   */
  public static fromFunctionSpec<O extends OptionDefinitions = {}>(scope: Construct, id: string, spec: FunctionSpec, props: FunctionSpecJobProps<O> = {}): JobConfig<O> {
    return jobConfigFromFunctionSpec(scope, id, spec, props);
  }

  /**
   * Reads a Furiko JobConfig (`execution.furiko.io/v1alpha1`, YAML text or a parsed object). Every
   * field taskplane cannot express is a synth error (docs/synth.md).
   */
  public static fromFuriko(scope: Construct, id: string, source: string | FurikoJobConfigObject | Readonly<Record<string, unknown>>): JobConfig<OptionDefinitions> {
    return jobConfigFromFuriko(scope, id, source);
  }

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
  /** Problems with the definition, then run ids used twice. */
  private readonly _problems: FieldError[] = [];

  public constructor(scope: Construct, id: string, props: JobConfigProps<O>) {
    super(scope, id);
    Object.defineProperty(this, JOB_CONFIG_BRAND, { value: true });
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this._labels = { ...props.labels };
    const options = Object.entries(props.options ?? {}).map(([name, option]) => option._toSpec(name));
    this._spec = {
      // The chart's labels go on every task; they are part of the template that runs snapshot.
      template: withTaskLabels({
        taskTemplate: props.task._toSpec(),
        ...(props.parallelism && { parallelism: props.parallelism._toSpec() }),
        ...(props.maxAttempts !== undefined && { maxAttempts: props.maxAttempts }),
        ...(props.retryDelay && { retryDelaySeconds: props.retryDelay.toSeconds() }),
        ...(props.retryBackoff && { retryBackoff: retryBackoffSpec(props.retryBackoff) }),
        ...(props.retryRules && { retryRules: props.retryRules.map((rule) => rule._toSpec()) }),
        ...(props.maxUncountedRetries !== undefined && { maxUncountedRetries: props.maxUncountedRetries }),
        ...(props.pendingTimeout && { taskPendingTimeoutSeconds: props.pendingTimeout.toSeconds() }),
        ...(props.taskTimeout && { taskTimeoutSeconds: props.taskTimeout.toSeconds() }),
        ...(props.cache && { cache: _cacheSpec(props.cache) }),
      }, Chart.of(this).labels),
      concurrency: (props.concurrency ?? Concurrency.allow())._toSpec(),
      ...(props.schedule && { schedule: props.schedule._toSpec() }),
      ...(options.length > 0 && { options }),
      ...(props.allowCustomTemplates && { allowCustomTemplates: true }),
    };
    const annotations = props.schedule?._annotations(this.namespace, this.name);
    const object = {
      apiVersion: GROUP_VERSION,
      kind: 'JobConfig',
      metadata: { name: this.name, namespace: this.namespace, labels: this._labels, ...(annotations && { annotations }) },
      spec: this._spec,
    };
    // cdk8s adds the chart's labels to the object, and render adds them to every task.
    const labels = { ...Chart.of(this).labels, ...this._labels };
    const sizeError = objectSizeError(object, 'JobConfig');
    this._problems.push(
      ...nestErrors('spec.template.taskTemplate', props.task._problems),
      ...(props.retryRules ?? []).flatMap((rule, i) => nestErrors(`spec.template.retryRules[${i}]`, rule._problems)),
      ...validateJobConfig(this.name, this._spec),
      ...metadataErrors({ labels }, 'metadata'),
      ...namespaceErrors(this.namespace),
      ...unwritable(this, labels, 'metadata.labels'),
      ...unwritable(this, this._spec, 'spec'),
      ...(sizeError ? [sizeError] : []),
    );
    this._invalid = this._problems.length > 0;
    addFieldValidation(this, () => this._problems);
    new ApiObject(this, 'Resource', object);
  }

  /**
   * This JobConfig as a Furiko JobConfig object, for clusters that run Furiko. Throws a
   * ValidationError naming every field Furiko cannot express (pod executor only).
   */
  public toFuriko(): FurikoJobConfigObject {
    return furikoJobConfigOf(this);
  }

  /** A run of this job. Option values are type-checked against the options' definitions. */
  public run(id: string, props: JobRunProps<O>): JobRun {
    if (!this.node.tryFindChild(id)) return new JobRun(this, id, props);
    // cdk8s would throw its construct-name message; report the clash with every other problem instead.
    this._problems.push({ field: 'run', message: `run id "${id}" is already taken in this JobConfig`, value: id, valid: 'a distinct id per run (not "Resource"), e.g. the date or a ticket number' });
    let n = 2;
    while (this.node.tryFindChild(`${id}~${n}`)) n++;
    return new JobRun(this, `${id}~${n}`, { ...props, name: props.name ?? `${this.name}-${id}` });
  }
}

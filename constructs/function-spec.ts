import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { mapFunctionSpec } from '../engine/interop/colonies.js';
import { addFieldValidation } from './_validation.js';
import { JobConfig, type JobConfigProps } from './job-config.js';
import type { OptionDefinitions } from './option.js';
import { TaskTemplate } from './task-template.js';

/** Where a ColonyOS function spec may run, and with what. Keys as Colonies writes them. */
export interface FunctionSpecConditions {
  /**
   * @default - any; when given it must be "kubeexecutor", the executor whose function taskplane runs
   */
  readonly executortype?: string;
  /**
   * Pods per attempt: the batch Job's completions and parallelism (Indexed, so each Pod reads its
   * node number from `JOB_COMPLETION_INDEX`).
   * @default 1
   */
  readonly nodes?: number;
  /**
   * Processes per node: identical containers `process-0`, `process-1`, ... in each Pod. The
   * KubeExecutor's README spells it `processes-per-node`; Colonies' Go type reads `processespernode`.
   * @default 1
   */
  readonly 'processes-per-node'?: number;
  /** Colonies' own spelling of `processes-per-node`. @default 1 */
  readonly processespernode?: number;
  /**
   * Memory of each container (requests = limits), a Kubernetes quantity such as `1Gi`.
   * @default - none requested
   */
  readonly mem?: string;
  /**
   * CPU of each container (requests = limits), e.g. `500m`.
   * @default - none requested
   */
  readonly cpu?: string;
  /**
   * Seconds the Kubernetes Job may live: its `activeDeadlineSeconds`. Must exceed `maxexectime`.
   * @default - no limit (0)
   */
  readonly walltime?: number;
  /** Anything else Colonies writes; reported at synth when taskplane cannot express it. */
  readonly [field: string]: unknown;
}

/** What the KubeExecutor's `execute` function runs. */
export interface FunctionSpecKwargs {
  /** The container image. */
  readonly 'docker-image': string;
  /**
   * The command; `{processid}` becomes the run's name (`${job.name}`).
   * @default - the image's entrypoint
   */
  readonly cmd?: string;
  /** @default - none */
  readonly args?: readonly string[];
  readonly [field: string]: unknown;
}

/**
 * A ColonyOS function spec (seed 004), as JSON or typed. Other fields of Colonies' FunctionSpec
 * (`fs`, `gpu`, `dependencies`, ...) are synth errors unless they hold Go's zero value.
 */
export interface FunctionSpec {
  readonly conditions?: FunctionSpecConditions;
  /** @default "execute" - the KubeExecutor's only function */
  readonly funcname?: string;
  readonly kwargs: FunctionSpecKwargs;
  /**
   * Seconds one attempt may run: taskplane's task timeout.
   * @default - no limit (0 or -1)
   */
  readonly maxexectime?: number;
  /**
   * Retries after a failed attempt: `maxAttempts − 1` (0 to 49).
   * @default 0
   */
  readonly maxretries?: number;
  /**
   * Environment variables of every container.
   * @default - none
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** The rest of a JobConfig: what the function spec does not say. */
export type FunctionSpecJobProps<O extends OptionDefinitions> = Omit<JobConfigProps<O>, 'task' | 'maxAttempts' | 'taskTimeout'>;

/** Stands in for the task while the spec has errors: synth reports them and writes nothing. */
const UNMAPPED = { job: { spec: { template: { spec: { containers: [{ name: 'process-0', image: 'unmapped' }] } } } } };

/** `JobConfig.fromFunctionSpec`: the mapping is engine/interop/colonies.ts. @internal */
export function jobConfigFromFunctionSpec<O extends OptionDefinitions>(
  scope: Construct,
  id: string,
  spec: FunctionSpec,
  props: FunctionSpecJobProps<O>,
): JobConfig<O> {
  const { mapping, errors } = mapFunctionSpec(spec);
  const config = new JobConfig<O>(scope, id, {
    ...props,
    task: TaskTemplate._fromSpec(mapping ? { job: { spec: mapping.jobSpec } } : UNMAPPED),
    maxAttempts: mapping?.maxAttempts,
    ...(mapping?.taskTimeoutSeconds !== undefined && { taskTimeout: Duration.seconds(mapping.taskTimeoutSeconds) }),
  });
  addFieldValidation(config, () => errors);
  return config;
}

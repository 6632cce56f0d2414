/**
 * The synth workload: N JobConfigs, each with one Rendered run of P tasks (`Parallelism.withCount(P)`),
 * a small Pod template with a few `${...}` variables, and three options. The same manifests are built
 * three ways (see bench/synth-case.ts): through taskplane's constructs, as plain cdk8s ApiObjects, and
 * as plain objects for a bare YAML writer. The plain objects come from taskplane's engine, so the
 * cdk8s and YAML cases measure only cdk8s and serialization.
 */
import { BoolOptionFormat, Option, type OptionDefinitions } from '../constructs/option.js';
import { Parallelism } from '../constructs/parallelism.js';
import { Concurrency } from '../constructs/concurrency.js';
import { renderFirstAttempts } from '../engine/render.js';
import { buildRun } from '../engine/run-object.js';
import { GROUP_VERSION, type JobConfigSpec, type JobRunObject } from '../engine/schema/resources.js';

export const NAMESPACE = 'batch';
export const CHART = 'jobs';
export const RUN_ID = 'r1';

export const configName = (i: number) => `job-${String(i).padStart(4, '0')}`;
export const runName = (i: number) => `${configName(i)}-${RUN_ID}`;

export const options = {
  region: Option.select({ values: ['eu-west-1', 'us-east-1'], default: 'eu-west-1' }),
  dryRun: Option.bool({ default: false, format: BoolOptionFormat.custom('--dry-run', '--apply') }),
  day: Option.date({ format: 'YYYY-MM-DD', required: true }),
} satisfies OptionDefinitions;

export const runOptions = { region: 'us-east-1', dryRun: true, day: new Date('2026-01-01T00:00:00Z') } as const;

/** The Pod spec as plain JSON (what `k8s.toJson_PodSpec` gives for it); used by every case. */
export function podSpec(i: number) {
  return {
    containers: [
      {
        name: 'worker',
        image: `registry.example.com/batch/worker-${i % 10}:1.4.2`,
        command: ['/bin/worker'],
        args: ['--region=${option.region}', '${option.dryRun}', '--day=${option.day}', '--shard=${task.index_num}', '--of=${job.max_attempts}'],
        env: [
          { name: 'TASK_NAME', value: '${task.name}' },
          { name: 'RUN_NAME', value: '${job.name}' },
          { name: 'ATTEMPT', value: '${task.retry_index}' },
        ],
      },
    ],
  };
}

export const MAX_ATTEMPTS = 3;
export const RETRY_DELAY_SECONDS = 60;

/** The JobConfig spec the constructs build for config `i` (see JobConfig's constructor). */
export function configSpec(i: number, tasks: number, retryDelaySeconds = RETRY_DELAY_SECONDS, podAnnotations?: Record<string, string>): JobConfigSpec {
  return {
    template: {
      taskTemplate: { pod: { ...(podAnnotations && { metadata: { annotations: podAnnotations } }), spec: podSpec(i) } },
      parallelism: Parallelism.withCount(tasks)._toSpec(),
      maxAttempts: MAX_ATTEMPTS,
      ...(retryDelaySeconds > 0 && { retryDelaySeconds }),
    },
    concurrency: Concurrency.allow()._toSpec(),
    options: Object.entries(options).map(([name, option]) => option._toSpec(name)),
  } as JobConfigSpec;
}

export interface PlainJob {
  readonly config: Record<string, unknown>;
  readonly run: JobRunObject;
  readonly tasks: Record<string, unknown>[];
}

/** Config `i`'s JobConfig, JobRun and first-attempt tasks, from the engine (as `config.run(...)` makes them). */
export function plainJob(i: number, tasks: number, retryDelaySeconds = RETRY_DELAY_SECONDS, podAnnotations?: Record<string, string>): PlainJob {
  const name = configName(i);
  const spec = configSpec(i, tasks, retryDelaySeconds, podAnnotations);
  const { run, errors } = buildRun(
    { name, namespace: NAMESPACE, spec },
    { name: runName(i), optionValues: { ...runOptions, day: runOptions.day.toISOString() }, materialization: 'Rendered', labels: {} },
  );
  const rendered = renderFirstAttempts(run);
  if (errors.length || rendered.errors.length) throw new Error(`workload does not render: ${JSON.stringify([...errors, ...rendered.errors])}`);
  return {
    config: { apiVersion: GROUP_VERSION, kind: 'JobConfig', metadata: { name, namespace: NAMESPACE }, spec },
    run,
    tasks: rendered.tasks.map((t) => t.manifest as Record<string, unknown>),
  };
}

/**
 * What cdk8s makes of a plain object (ApiObject.toJson): keys sorted at every level, null and
 * undefined dropped, then apiVersion, kind, metadata first. Lets the YAML floor write the same bytes.
 */
export function canonical(object: object): Record<string, unknown> {
  const sorted = sortDeep(object) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of ['apiVersion', 'kind', 'metadata', ...Object.keys(sorted)]) if (key in sorted) out[key] = sorted[key];
  return out;
}

function sortDeep(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortDeep);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = sortDeep((value as Record<string, unknown>)[key]);
    if (v !== null && v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * The job template: what a JobConfig defines and a JobRun snapshots. One executor per template.
 */
import Type, { type Static } from 'typebox';
import { OpaqueObject, StrictObject, StringEnum, StringMap } from './_builders.js';
import { HTTP_TASK_FIELDS } from './http.js';

/** Furiko's limit: attempts per parallel index. */
export const MAX_ATTEMPTS_LIMIT = 50;
/** Upper bound on task indexes in one run; beyond it a run is better split. */
export const MAX_PARALLEL_INDEXES = 10_000;
/** Furiko's default pending timeout. */
export const DEFAULT_PENDING_TIMEOUT_SECONDS = 900;

/** Matrix keys appear in variable names `${task.index_matrix.<key>}` (Furiko's character set). */
export const MATRIX_KEY_PATTERN = '^[a-z0-9_-]+$';

/** What a retry rule decides about a finished attempt (engine/retry/README.md). */
export const RETRY_ACTIONS = ['Retry', 'RetryNotCounted', 'FailIndex', 'FailRun'] as const;
export type RetryAction = (typeof RETRY_ACTIONS)[number];
/** Retries that do not count against maxAttempts, per index; with MAX_ATTEMPTS_LIMIT, retry indexes keep two digits in task names. */
export const MAX_UNCOUNTED_RETRIES_LIMIT = 49;
/** Rules beyond a few dozen are a program, not a policy; each is evaluated on every failed attempt. */
export const MAX_RETRY_RULES = 32;

export const COMPLETION_STRATEGIES = ['AllSuccessful', 'AnySuccessful'] as const;
export type CompletionStrategy = (typeof COMPLETION_STRATEGIES)[number];

const TemplateMetadataSchema = StrictObject(
  {
    labels: Type.Optional(StringMap(Type.String())),
    annotations: Type.Optional(StringMap(Type.String())),
  },
  { description: 'Labels and annotations copied onto each task object (after substitution).' },
);

const ObjectTemplateSchema = (what: string) =>
  StrictObject({
    metadata: Type.Optional(TemplateMetadataSchema),
    spec: OpaqueObject(`The ${what} spec; every string value may use \${...} variables.`),
  });

export const CustomResourceTemplateSchema = StrictObject({
  manifest: OpaqueObject('The object to create: apiVersion, kind and any fields; metadata.name is set by taskplane.'),
  successCondition: Type.String({ minLength: 1, description: 'CEL over the live object (`self`): true when the task succeeded.' }),
  failureCondition: Type.String({ minLength: 1, description: 'CEL over the live object (`self`): true when the task failed.' }),
  runningCondition: Type.Optional(Type.String({ description: 'CEL: true once the task runs (pending until then).' })),
  resultExpression: Type.Optional(Type.String({ description: 'CEL: the task result payload.' })),
  killPatch: Type.Optional(
    OpaqueObject('A JSON merge patch that stops the task in place. Without it, only watcher-created objects can be killed (by delete).'),
  ),
});

export const TaskTemplateSchema = StrictObject(
  {
    pod: Type.Optional(ObjectTemplateSchema('v1 Pod')),
    job: Type.Optional(ObjectTemplateSchema('batch/v1 Job')),
    workflow: Type.Optional(ObjectTemplateSchema('argoproj.io/v1alpha1 Workflow')),
    customResource: Type.Optional(CustomResourceTemplateSchema),
    http: Type.Optional(StrictObject({ metadata: Type.Optional(TemplateMetadataSchema), ...HTTP_TASK_FIELDS })),
  },
  { description: 'Exactly one executor.' },
);

export const ParallelismSpecSchema = StrictObject({
  withCount: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PARALLEL_INDEXES })),
  withKeys: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  withMatrix: Type.Optional(StringMap(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }))),
  completionStrategy: Type.Optional(StringEnum(COMPLETION_STRATEGIES, { description: 'Defaults to AllSuccessful.' })),
});

export const RetryRuleSchema = StrictObject({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Shown in status and events when the rule decides. Defaults to retryRules[<position>].' })),
  when: Type.String({ minLength: 1, description: 'CEL over the finished attempt: result, reason, message, exitCodes, containerExitCodes, durationSeconds, attempt, executor, taskResult.' }),
  action: StringEnum(RETRY_ACTIONS),
});

export const RetryBackoffSchema = StrictObject({
  factor: Type.Optional(Type.Number({ minimum: 1, maximum: 10, description: 'Each retry waits factor times the previous delay. Defaults to 1.' })),
  maxDelaySeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'No retry waits longer. Defaults to no limit.' })),
  jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Shortens each delay by up to this fraction, fixed per run, index and attempt. Defaults to 0.' })),
});

/** Cache entries kept per JobConfig when `maxEntries` is not set. */
export const DEFAULT_CACHE_MAX_ENTRIES = 100;
/** Upper bound on `maxEntries`: each entry is one small object in etcd. */
export const MAX_CACHE_ENTRIES_LIMIT = 1000;

export const CacheSpecSchema = StrictObject(
  {
    version: Type.String({ minLength: 1, maxLength: 63, description: 'Part of every cache key: change it when the same inputs must no longer give the same result.' }),
    key: Type.Optional(
      Type.String({ minLength: 1, description: 'What identifies a task\'s work (may use ${...} variables); defaults to the whole rendered task minus per-run names.' }),
    ),
    maxAgeSeconds: Type.Integer({ minimum: 1, description: 'A cached result older than this is not used.' }),
    maxEntries: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_CACHE_ENTRIES_LIMIT, description: `Cache entries kept for the JobConfig, the oldest evicted first. Defaults to ${DEFAULT_CACHE_MAX_ENTRIES}.` }),
    ),
  },
  { description: 'Reuse the result of an identical task that succeeded within maxAgeSeconds instead of creating it (tasks the watcher creates only).' },
);

export const JobTemplateSchema = StrictObject({
  taskTemplate: TaskTemplateSchema,
  parallelism: Type.Optional(ParallelismSpecSchema),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT, description: 'Attempts per parallel index. Defaults to 1.' })),
  retryDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'Delay before a retry, from the index\'s last finish.' })),
  retryBackoff: Type.Optional(RetryBackoffSchema),
  retryRules: Type.Optional(
    Type.Array(RetryRuleSchema, { maxItems: MAX_RETRY_RULES, description: 'Checked in order on each attempt that did not succeed; the first that holds decides. None holds: Retry.' }),
  ),
  maxUncountedRetries: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_UNCOUNTED_RETRIES_LIMIT, description: 'RetryNotCounted retries per index; past them such a retry counts. Defaults to 10.' }),
  ),
  taskPendingTimeoutSeconds: Type.Optional(
    Type.Integer({ minimum: 0, description: `Kill a task not running after this long; 0 = never. Defaults to ${DEFAULT_PENDING_TIMEOUT_SECONDS}.` }),
  ),
  taskTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'Kill a task running longer than this; 0 or unset = never.' })),
  cache: Type.Optional(CacheSpecSchema),
});

export type TaskTemplate = Static<typeof TaskTemplateSchema>;
export type CustomResourceTemplate = Static<typeof CustomResourceTemplateSchema>;
export type HttpTemplate = NonNullable<TaskTemplate['http']>;
export type ParallelismSpec = Static<typeof ParallelismSpecSchema>;
export type JobTemplate = Static<typeof JobTemplateSchema>;
export type RetryRuleSpec = Static<typeof RetryRuleSchema>;
export type RetryBackoffSpec = Static<typeof RetryBackoffSchema>;

export type CacheSpec = Static<typeof CacheSpecSchema>;

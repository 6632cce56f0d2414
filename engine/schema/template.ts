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
export type CacheSpec = Static<typeof CacheSpecSchema>;

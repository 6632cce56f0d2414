/**
 * The taskplane.dev/v1alpha1 resources: JobConfig (the definition) and JobRun (one execution).
 */
import Type, { type Static } from 'typebox';
import { OpaqueObject, StrictObject, StringEnum, StringMap, Timestamp } from './_builders.js';
import { OptionSpecSchema } from './option.js';
import { JobTemplateSchema, RETRY_ACTIONS } from './template.js';

export const API_GROUP = 'taskplane.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Enqueue'] as const;
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];
export const RUN_TYPES = ['Adhoc', 'Scheduled'] as const;
export const MATERIALIZATIONS = ['Rendered', 'Deferred'] as const;
export type MaterializationMode = (typeof MATERIALIZATIONS)[number];

/** Furiko's JobRun phases (13). */
export const RUN_PHASES = [
  'Queued', 'Starting', 'Pending', 'Running', 'Terminating', 'RetryBackoff', 'Retrying',
  'Succeeded', 'Failed', 'Killing', 'Killed', 'AdmissionError', 'FinishedUnknown',
] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export const TASK_STATES = ['Starting', 'Running', 'Killing', 'Terminated', 'DeletedFinalStateUnknown'] as const;
export const TASK_RESULTS = ['Succeeded', 'Failed', 'Killed'] as const;
export const INDEX_STATES = ['NotCreated', 'RetryBackoff', 'Starting', 'Running', 'Terminated'] as const;
export const RESULT_OMISSIONS = ['TooLarge', 'StatusBudget'] as const;
export const RUN_RESULTS = ['Success', 'Failed', 'AdmissionError', 'Killed', 'FinalStateUnknown'] as const;

export const ConcurrencySpecSchema = StrictObject({
  policy: StringEnum(CONCURRENCY_POLICIES),
  maxConcurrency: Type.Optional(Type.Integer({ minimum: 1, description: 'Active runs allowed with Forbid or Enqueue. Defaults to 1.' })),
});

export const ScheduleSpecSchema = StrictObject({
  cron: StrictObject({
    expression: Type.Optional(Type.String({ description: 'A cron expression (Furiko syntax, with H). Exactly one of expression and expressions.' })),
    expressions: Type.Optional(Type.Array(Type.String(), { description: 'Several cron expressions; coinciding times are one run.' })),
    timezone: Type.Optional(Type.String({ description: 'IANA name or UTC+HH:MM the expressions are read in. Defaults to UTC.' })),
  }),
  disabled: Type.Optional(Type.Boolean({ description: 'No scheduled runs while true (Git\'s switch; taskplane schedule pause is the watcher\'s).' })),
  constraints: Type.Optional(
    StrictObject({
      notBefore: Type.Optional(Timestamp('No scheduled run before this time (a run at exactly this time is allowed).')),
      notAfter: Type.Optional(Timestamp('No scheduled run after this time.')),
    }),
  ),
  history: Type.Optional(
    StrictObject(
      {
        succeeded: Type.Optional(Type.Integer({ minimum: 0, description: 'Succeeded scheduled runs kept. Defaults to 3.' })),
        failed: Type.Optional(Type.Integer({ minimum: 0, description: 'Scheduled runs that ended otherwise (Failed, Killed...) kept. Defaults to 1.' })),
      },
      { description: 'The watcher deletes older finished scheduled runs (only those it created).' },
    ),
  ),
});

export const JobConfigSpecSchema = StrictObject({
  template: JobTemplateSchema,
  concurrency: ConcurrencySpecSchema,
  schedule: Type.Optional(ScheduleSpecSchema),
  options: Type.Optional(Type.Array(OptionSpecSchema)),
  allowCustomTemplates: Type.Optional(
    Type.Boolean({
      description:
        "Let runs carry their own spec.template (same executor kind). Defaults to false: the watcher refuses a run whose template is not this config's.",
    }),
  ),
});

const ConditionSchema = StrictObject({
  type: Type.String(),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  lastTransitionTime: Type.Optional(Timestamp('When the status last changed.')),
  observedGeneration: Type.Optional(Type.Integer()),
});

const RunReferenceSchema = StrictObject({
  name: Type.String(),
  phase: Type.Optional(Type.String()),
  startTime: Type.Optional(Timestamp('When the run started.')),
});

export const JobConfigStatusSchema = StrictObject({
  state: Type.Optional(StringEnum(['Ready', 'ReadyEnabled', 'ReadyDisabled', 'JobQueued', 'Executing'] as const)),
  active: Type.Optional(Type.Integer()),
  queued: Type.Optional(Type.Integer()),
  activeRuns: Type.Optional(Type.Array(RunReferenceSchema)),
  queuedRuns: Type.Optional(Type.Array(RunReferenceSchema)),
  lastExecuted: Type.Optional(Timestamp('Latest start of any run.')),
  lastScheduled: Type.Optional(Timestamp('Latest schedule time.')),
  nextScheduled: Type.Optional(Timestamp('When the schedule next creates a run (absent when disabled, paused or ended).')),
  schedulePaused: Type.Optional(Type.Boolean({ description: 'Paused by taskplane schedule pause (the taskplane.dev/schedule-paused annotation).' })),
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Type.Array(ConditionSchema)),
});

export const JobRunSpecSchema = StrictObject({
  configName: Type.String({ minLength: 1, description: 'The JobConfig this run executes.' }),
  type: Type.Optional(StringEnum(RUN_TYPES, { description: 'Defaults to Adhoc.' })),
  optionValues: Type.Optional(
    OpaqueObject('Option values as given (typed), where their rendered form (option.<name> in substitutions) differs; a string rendered unchanged is stored there only.'),
  ),
  substitutions: StringMap(Type.String(), 'Every variable resolved at synth time: option.*, jobconfig.*, and user variables.'),
  template: JobTemplateSchema,
  materialization: Type.Optional(
    StringEnum(MATERIALIZATIONS, { description: 'Rendered: first attempts are in Git. Deferred: the watcher creates them. Defaults to Rendered.' }),
  ),
  concurrencyPolicy: Type.Optional(StringEnum(CONCURRENCY_POLICIES, { description: 'Deferred runs only; defaults to the JobConfig\'s.' })),
  startAfter: Type.Optional(Timestamp('Deferred runs start no earlier than this.')),
  killTimestamp: Type.Optional(Timestamp('Kill the run at this time (in place).')),
  skipCache: Type.Optional(Type.Boolean({ description: 'Create every task even when a cached result exists (successes are still recorded).' })),
});

const TaskStatusSchema = StrictObject({
  state: StringEnum(TASK_STATES),
  result: Type.Optional(StringEnum(TASK_RESULTS)),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

const RetryDecisionSchema = StrictObject(
  {
    rule: Type.String({ description: 'The rule\'s name, or retryRules[<position>].' }),
    action: StringEnum(RETRY_ACTIONS, { description: 'What was done: RetryNotCounted past maxUncountedRetries is done as Retry.' }),
    uncountedCapReached: Type.Optional(Type.Boolean({ description: 'The rule said RetryNotCounted, but the index had used maxUncountedRetries.' })),
  },
  { description: 'The retry rule that held for this attempt; absent when none did (a counted retry).' },
);

const TaskRefSchema = StrictObject({
  name: Type.String(),
  kind: Type.String(),
  apiVersion: Type.String(),
  parallelIndex: OpaqueObject('The parallel index, e.g. {"indexNumber":0}.'),
  retryIndex: Type.Integer(),
  uid: Type.Optional(Type.String({ description: 'The task object\'s uid: another object under this name later is a stray, not this task.' })),
  creationTimestamp: Type.Optional(Timestamp('When the task object was created.')),
  runningTimestamp: Type.Optional(Timestamp('When the task started running.')),
  finishTimestamp: Type.Optional(Timestamp('When the task finished.')),
  status: TaskStatusSchema,
  deletedStatus: Type.Optional(TaskStatusSchema),
  killRequest: Type.Optional(
    StrictObject(
      { reason: Type.String(), message: Type.String(), timestamp: Timestamp('When the watcher asked the task to stop.') },
      { description: 'Why and when the watcher stopped this task; its result is then Killed with this reason.' },
    ),
  ),
  taskResult: Type.Optional(OpaqueObject('The parsed result payload, when the executor has one.')),
  retryRule: Type.Optional(RetryDecisionSchema),
  resultOmitted: Type.Optional(
    StrictObject(
      {
        reason: StringEnum(RESULT_OMISSIONS),
        bytes: Type.Integer({ description: 'The size of the result as JSON.' }),
      },
      { description: 'The task had a result that the status does not keep (TooLarge: over 4 KiB; StatusBudget: the run\'s results budget was spent). The task object still has it while it exists.' },
    ),
  ),
});

const StrayTaskSchema = StrictObject(
  {
    name: Type.String(),
    kind: Type.String(),
    uid: Type.String(),
    creationTimestamp: Type.Optional(Timestamp('When the stray object was created.')),
    state: StringEnum(TASK_STATES),
    killRequest: Type.Optional(StrictObject({ reason: Type.String(), message: Type.String(), timestamp: Timestamp('When the watcher asked it to stop.') })),
  },
  { description: 'An object created under the name of a task that had already finished: stopped in place, never counted as an attempt.' },
);

const IndexStatusSchema = StrictObject({
  index: OpaqueObject('The parallel index.'),
  key: Type.String({ description: 'The index as it appears in task names.' }),
  createdTasks: Type.Integer(),
  state: StringEnum(INDEX_STATES),
  result: Type.Optional(StringEnum(['Succeeded', 'Failed'] as const)),
});

const FoldedTasksSchema = StrictObject(
  {
    indexes: Type.String({ description: 'Positions in the run\'s index list, as ranges: "0-3,7".' }),
    attempts: Type.Integer({ minimum: 1, description: 'Finished attempts of each of these indexes folded here (retry indexes 0 to attempts-1).' }),
    lastFinishTime: Timestamp('The latest finish of the folded attempts.'),
    lastStatus: TaskStatusSchema,
    uncountedAttempts: Type.Optional(Type.Integer({ minimum: 1, description: 'How many of them a RetryNotCounted rule decided.' })),
    lastRetryRule: Type.Optional(RetryDecisionSchema),
  },
  { description: 'Finished attempts summarized per index once the status outgrew its detail budget; their events have the detail.' },
);

const LiveTasksSchema = StrictObject(
  {
    indexes: Type.String({ description: 'Positions in the run\'s index list, as ranges: "0-3,7".' }),
    retryIndex: Type.Integer({ minimum: 0, description: 'The attempt of each of these indexes that is still going.' }),
    status: TaskStatusSchema,
    lastCreationTime: Timestamp('The latest creation (or create request) of these tasks: an object under one of their names created later is a stray.'),
    lastRunningTime: Type.Optional(Timestamp('The latest start of these tasks, for timeouts when a task object does not say when it started.')),
    killRequest: Type.Optional(StrictObject({ reason: Type.String(), message: Type.String(), timestamp: Timestamp('The latest time the watcher asked them to stop.') })),
  },
  { description: 'Tasks still going, packed per attempt and state once a large run\'s status outgrew its budget; each task object has its detail.' },
);

export const JobRunStatusSchema = StrictObject({
  phase: Type.Optional(StringEnum(RUN_PHASES)),
  result: Type.Optional(StringEnum(RUN_RESULTS)),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  startTime: Type.Optional(Timestamp('When the run started.')),
  finishTime: Type.Optional(Timestamp('When the run finished.')),
  progress: Type.Optional(Type.String({ description: 'Succeeded indexes / all indexes, e.g. 7/10.' })),
  createdTasks: Type.Optional(Type.Integer()),
  runningTasks: Type.Optional(Type.Integer()),
  tasks: Type.Optional(Type.Array(TaskRefSchema)),
  indexes: Type.Optional(Type.Array(IndexStatusSchema)),
  strayTasks: Type.Optional(Type.Array(StrayTaskSchema)),
  foldedTasks: Type.Optional(Type.Array(FoldedTasksSchema)),
  liveTasks: Type.Optional(Type.Array(LiveTasksSchema)),
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Type.Array(ConditionSchema)),
  templateHash: Type.Optional(Type.String({ description: 'Hash of spec.template when the run started; a later edit sets TemplateChanged.' })),
});

export type ConcurrencySpec = Static<typeof ConcurrencySpecSchema>;
export type ScheduleSpec = Static<typeof ScheduleSpecSchema>;
export type JobConfigSpec = Static<typeof JobConfigSpecSchema>;
export type JobConfigStatus = Static<typeof JobConfigStatusSchema>;
export type JobRunSpec = Static<typeof JobRunSpecSchema>;
export type JobRunStatus = Static<typeof JobRunStatusSchema>;
export type TaskRef = Static<typeof TaskRefSchema>;
export type StrayTask = Static<typeof StrayTaskSchema>;
export type FoldedTasks = Static<typeof FoldedTasksSchema>;
export type RetryDecision = Static<typeof RetryDecisionSchema>;
export type LiveTasks = Static<typeof LiveTasksSchema>;

/** The object metadata taskplane reads; the rest passes through untouched. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  /** Set by the API server; orders queued runs and starts admission's grace for a missing JobConfig. */
  readonly creationTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface JobConfigObject {
  readonly apiVersion: typeof GROUP_VERSION;
  readonly kind: 'JobConfig';
  readonly metadata: ObjectMeta;
  readonly spec: JobConfigSpec;
  readonly status?: JobConfigStatus;
}

export interface JobRunObject {
  readonly apiVersion: typeof GROUP_VERSION;
  readonly kind: 'JobRun';
  readonly metadata: ObjectMeta;
  readonly spec: JobRunSpec;
  readonly status?: JobRunStatus;
}

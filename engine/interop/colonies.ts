/**
 * A ColonyOS function spec (the KubeExecutor's `execute` function) mapped onto a taskplane job
 * template. One Colonies process is one taskplane task, run as one indexed batch/v1 Job:
 *
 * - `conditions.nodes` → the Job's `completions` = `parallelism` (Indexed: each Pod gets its node
 *   number as `JOB_COMPLETION_INDEX`); `processes-per-node` → identical containers per Pod;
 * - `mem` / `cpu` → each container's requests and limits;
 * - `walltime` → the Job's `activeDeadlineSeconds`; `maxexectime` → taskplane's task timeout;
 * - `maxretries` → `maxAttempts − 1` (a retry re-runs the whole Job, every node, as Colonies
 *   re-assigns the whole process).
 *
 * Nodes are not taskplane's parallel indexes: those retry and time out independently, while a
 * Colonies process, like an MPI job, succeeds, fails and is retried as one (and walltime bounds
 * the one Kubernetes Job). Fields the KubeExecutor reads but taskplane cannot express are errors;
 * zero values (what Go writes for an unset field) are accepted.
 */
import type { FieldError } from '../errors.js';
import { MAX_ATTEMPTS_LIMIT } from '../schema/template.js';
import { suggest } from '../suggest.js';

/** The batch Job spec, attempts and timeout a function spec maps to. */
export interface ColoniesMapping {
  /** batch/v1 JobSpec JSON. */
  readonly jobSpec: Record<string, unknown>;
  readonly maxAttempts: number;
  /** Undefined: no limit (Colonies' maxexectime 0 or -1). */
  readonly taskTimeoutSeconds?: number;
}

/** A Kubernetes resource quantity (`500m`, `1Gi`, `2`, `1e3`). */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/;

/** Colonies replaces `{processid}` in cmd and args; a taskplane run is the process. */
const PROCESS_ID = '{processid}';

const KNOWN = {
  top: ['conditions', 'funcname', 'kwargs', 'maxexectime', 'maxretries', 'env'],
  conditions: ['executortype', 'nodes', 'processes-per-node', 'processespernode', 'mem', 'cpu', 'walltime'],
  kwargs: ['cmd', 'docker-image', 'args'],
};

/** What taskplane cannot express, by field: why, and what to do instead. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  nodename: 'a taskplane run is named by its JobRun; set the run id or name',
  args: "the KubeExecutor's execute function takes kwargs.args",
  priority: 'taskplane runs have no priority; use Concurrency.enqueue() to order runs',
  maxwaittime: 'taskplane has no queue wait limit; pendingTimeout bounds how long a task may stay unscheduled',
  label: 'use the JobConfig props labels',
  fs: 'Colonies filesystem sync has no counterpart; mount a volume in a TaskTemplate.job instead',
  service: 'long-running services are not batch jobs',
  reconciliation: 'long-running services are not batch jobs',
  'conditions.colonyname': 'the namespace takes the colony\'s place; set the JobConfig props namespace',
  'conditions.executornames': 'the watcher runs every JobConfig of its namespaces',
  'conditions.dependencies': 'taskplane has no workflow dependencies; use an Argo Workflow task (TaskTemplate.workflow)',
  'conditions.processes': 'use nodes and processes-per-node',
  'conditions.storage': 'request ephemeral-storage in a TaskTemplate.job instead',
  'conditions.gpu': 'request GPUs (e.g. nvidia.com/gpu limits) in a TaskTemplate.job instead',
};

/** Go's zero values: what `json.Marshal` writes for a field nobody set. */
function isZero(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isZero);
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every problem with a function spec, and the mapping when there is none. `field` prefixes paths. */
export function mapFunctionSpec(spec: unknown, field = 'functionSpec'): { mapping?: ColoniesMapping; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!isRecord(spec)) return { errors: [{ field, message: 'must be an object (a Colonies function spec)', value: spec }] };
  const conditions = isRecord(spec.conditions) ? spec.conditions : {};
  const kwargs = isRecord(spec.kwargs) ? spec.kwargs : {};
  if (spec.conditions !== undefined && !isRecord(spec.conditions)) errors.push({ field: `${field}.conditions`, message: 'must be an object', value: spec.conditions });
  if (!isRecord(spec.kwargs)) errors.push({ field: `${field}.kwargs`, message: 'is required: the command to run', value: spec.kwargs, valid: '{ "docker-image": "busybox", "cmd": "echo", "args": ["Hello"] }' });

  for (const [key, value] of Object.entries(spec)) unknownOrUnsupported(key, value, KNOWN.top, field, key, errors);
  for (const [key, value] of Object.entries(conditions)) unknownOrUnsupported(`conditions.${key}`, value, KNOWN.conditions, `${field}.conditions`, key, errors);
  for (const [key, value] of Object.entries(kwargs)) unknownOrUnsupported(`kwargs.${key}`, value, KNOWN.kwargs, `${field}.kwargs`, key, errors);

  if (conditions.executortype !== undefined && conditions.executortype !== 'kubeexecutor') {
    errors.push({ field: `${field}.conditions.executortype`, message: 'taskplane runs what the KubeExecutor runs', value: conditions.executortype, valid: '"kubeexecutor"' });
  }
  if (spec.funcname !== undefined && spec.funcname !== 'execute') {
    errors.push({ field: `${field}.funcname`, message: "the KubeExecutor's only function is execute", value: spec.funcname, valid: '"execute"' });
  }

  const nodes = count(conditions.nodes, `${field}.conditions.nodes`, 'Pods per attempt', errors);
  const dashed = conditions['processes-per-node'];
  const plain = conditions.processespernode;
  if (dashed !== undefined && plain !== undefined && dashed !== plain) {
    errors.push({ field: `${field}.conditions.processespernode`, message: 'disagrees with processes-per-node (two spellings of one field)', value: plain, valid: `${JSON.stringify(dashed)}, or only one of the two` });
  }
  const processesField = `${field}.conditions.${dashed !== undefined ? 'processes-per-node' : 'processespernode'}`;
  const processes = count(dashed ?? plain, processesField, 'containers per Pod', errors);

  const resources: Record<string, string> = {};
  for (const [key, name] of [['cpu', 'cpu'], ['mem', 'memory']] as const) {
    const value = conditions[key];
    if (value === undefined || value === '') continue;
    if (typeof value === 'string' && QUANTITY.test(value)) resources[name] = value;
    else errors.push({ field: `${field}.conditions.${key}`, message: 'is not a Kubernetes quantity', value, valid: key === 'cpu' ? 'e.g. "500m" or "2"' : 'e.g. "1Gi" or "512Mi"' });
  }

  const walltime = seconds(conditions.walltime, `${field}.conditions.walltime`, 'the Job\'s activeDeadlineSeconds', errors);
  const maxexectime = seconds(spec.maxexectime, `${field}.maxexectime`, 'the task timeout', errors, true);
  if (walltime !== undefined && maxexectime !== undefined && walltime <= maxexectime) {
    errors.push({
      field: `${field}.conditions.walltime`,
      message: `must be greater than maxexectime (${maxexectime}): the Job would be removed before the process times out`,
      value: walltime,
      valid: `more than ${maxexectime} seconds`,
    });
  }
  let maxretries = 0;
  if (spec.maxretries !== undefined) {
    const value = spec.maxretries;
    if (Number.isInteger(value) && (value as number) >= 0 && (value as number) < MAX_ATTEMPTS_LIMIT) maxretries = value as number;
    else errors.push({ field: `${field}.maxretries`, message: 'must be a whole number of retries taskplane can make', value, valid: `0 to ${MAX_ATTEMPTS_LIMIT - 1} (maxAttempts is at most ${MAX_ATTEMPTS_LIMIT})` });
  }

  const image = kwargs['docker-image'];
  if (typeof image !== 'string' || image === '') errors.push({ field: `${field}.kwargs.docker-image`, message: 'is required: the container image', value: image, valid: 'an image reference, e.g. "busybox"' });
  const cmd = kwargs.cmd;
  if (cmd !== undefined && typeof cmd !== 'string') errors.push({ field: `${field}.kwargs.cmd`, message: 'must be a string', value: cmd, valid: 'the command, e.g. "echo"' });
  const args = kwargs.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) errors.push({ field: `${field}.kwargs.args`, message: 'must be a list of strings', value: args, valid: 'e.g. ["Hello, World!"]' });
  const env = spec.env ?? {};
  if (!isRecord(env) || !Object.values(env).every((v) => typeof v === 'string')) errors.push({ field: `${field}.env`, message: 'must map names to strings', value: env, valid: 'e.g. { "LOG_LEVEL": "debug" }' });

  if (errors.length > 0) return { errors };
  const processId = (text: string) => text.replaceAll(PROCESS_ID, () => '${job.name}');
  const container = (process: number) => ({
    name: `process-${process}`,
    image,
    ...(typeof cmd === 'string' && cmd !== '' && { command: [processId(cmd)] }),
    ...((args as string[]).length > 0 && { args: (args as string[]).map(processId) }),
    ...(Object.keys(env).length > 0 && { env: Object.entries(env as Record<string, string>).map(([name, value]) => ({ name, value })) }),
    ...(Object.keys(resources).length > 0 && { resources: { requests: { ...resources }, limits: { ...resources } } }),
  });
  const jobSpec = {
    completions: nodes,
    parallelism: nodes,
    completionMode: 'Indexed',
    ...(walltime !== undefined && { activeDeadlineSeconds: walltime }),
    template: { spec: { containers: Array.from({ length: processes }, (_, p) => container(p)) } },
  };
  return { mapping: { jobSpec, maxAttempts: maxretries + 1, ...(maxexectime !== undefined && { taskTimeoutSeconds: maxexectime }) }, errors };
}

function unknownOrUnsupported(path: string, value: unknown, known: readonly string[], parent: string, key: string, errors: FieldError[]): void {
  if (known.includes(key)) return;
  const field = `${parent}.${key}`;
  const why = UNSUPPORTED[path];
  if (why) {
    if (!isZero(value)) errors.push({ field, message: 'taskplane cannot express this field', value, valid: why });
    return;
  }
  const near = suggest(key, known);
  errors.push({ field, message: 'is not a field of a KubeExecutor function spec', value: key, valid: near.length ? `did you mean ${near.join(', ')}?` : `one of ${known.join(', ')}` });
}

/** A positive count; absent means 1. */
function count(value: unknown, field: string, what: string, errors: FieldError[]): number {
  if (value === undefined || value === 0) return 1;
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1000) return value as number;
  errors.push({ field, message: `must be a whole number of ${what}`, value, valid: '1 to 1000' });
  return 1;
}

/** Whole seconds; absent or zero (and -1, Colonies' "no limit", where `noLimit`) mean none. */
function seconds(value: unknown, field: string, what: string, errors: FieldError[], minusOneIsNone = false): number | undefined {
  if (value === undefined || value === 0 || (minusOneIsNone && value === -1)) return undefined;
  if (Number.isInteger(value) && (value as number) > 0) return value as number;
  errors.push({ field, message: `must be whole seconds (${what})`, value, valid: minusOneIsNone ? 'a positive number, or 0 / -1 for no limit' : 'a positive number, or 0 for no limit' });
  return undefined;
}

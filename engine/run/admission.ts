/**
 * Admission: a run gets no more than its JobConfig grants (DESIGN §7.1). Whoever may create or edit
 * JobRuns must not be able to make the watcher create what the JobConfig's author (Git, the platform
 * team) did not define. Pure: the run, its config as the API server has it, and the time in; the
 * watcher acts on the answer (watcher/admission.ts).
 *
 * - The config must exist in the run's namespace. A run that arrives just before its config (one
 *   GitOps sync applies both) is held for CONFIG_GRACE_SECONDS before it is refused.
 * - The run's template must be the config's (compared by hash), or the one admitted when the run
 *   started (`status.templateHash`, so later edits of the config never change a started run), unless
 *   the config sets `allowCustomTemplates`; even then the executor kind must be the config's.
 * - Option values must be valid for the config's options, and the resolved `option.*` and
 *   `jobconfig.*` substitutions the run carries must be what those values give: a run cannot slip
 *   an arbitrary string past a Select option by writing the substitution itself.
 * - A run may pick its own concurrency policy (Forbid or Enqueue keep the config's limit), but not
 *   Allow on a config that limits its runs.
 */
import { formatFieldError } from '../errors.js';
import { evaluateOptions } from '../options/index.js';
import { givenOptionValues } from '../run-object.js';
import type { JobConfigObject, JobRunObject } from '../schema/resources.js';
import type { TaskTemplate } from '../schema/template.js';
import { isReservedVariable } from '../substitution.js';
import { templateHash } from './template-hash.js';
import { parseTime, seconds } from './time.js';

/** How long a run may wait for its JobConfig to appear before it is refused. */
export const CONFIG_GRACE_SECONDS = 30;

export type AdmissionReason = 'ConfigNotFound' | 'TemplateNotAllowed' | 'ExecutorNotAllowed' | 'OptionsNotAllowed' | 'ConcurrencyNotAllowed';

export type Admission =
  | { readonly kind: 'admitted' }
  | { readonly kind: 'held'; readonly reason: 'WaitingForConfig'; readonly message: string; readonly until: Date }
  | { readonly kind: 'refused'; readonly reason: AdmissionReason; readonly message: string };

export interface AdmissionInput {
  readonly run: JobRunObject;
  /** The JobConfig named `spec.configName` in the run's namespace; undefined when there is none. */
  readonly config: JobConfigObject | undefined;
  readonly now: Date;
}

export function admitRun({ run, config, now }: AdmissionInput): Admission {
  const { configName } = run.spec;
  const namespace = run.metadata.namespace ?? '';
  if (!config) {
    const created = run.metadata.creationTimestamp;
    const until = created === undefined ? undefined : parseTime(created) + seconds(CONFIG_GRACE_SECONDS);
    if (!run.status?.startTime && until !== undefined && now.getTime() < until) {
      return { kind: 'held', reason: 'WaitingForConfig', message: `Waiting for JobConfig ${configName} to exist in namespace ${namespace}`, until: new Date(until) };
    }
    return refused('ConfigNotFound', `JobConfig ${configName} does not exist in namespace ${namespace}; a run must reference a JobConfig of its own namespace`);
  }
  const runHash = templateHash(run.spec.template);
  const configHash = templateHash(config.spec.template);
  const admittedAtStart = run.status?.startTime ? run.status.templateHash : undefined;
  if (runHash !== configHash && runHash !== admittedAtStart) {
    if (!config.spec.allowCustomTemplates) {
      return refused(
        'TemplateNotAllowed',
        `spec.template (hash ${runHash}) is not the template of JobConfig ${configName} (hash ${configHash}), and the JobConfig does not allow custom templates (spec.allowCustomTemplates)`,
      );
    }
    const runKind = executorKind(run.spec.template.taskTemplate);
    const configKind = executorKind(config.spec.template.taskTemplate);
    if (runKind !== configKind) {
      return refused('ExecutorNotAllowed', `spec.template runs ${runKind}, but JobConfig ${configName} allows custom templates of its own executor only (${configKind})`);
    }
  }
  const configPolicy = config.spec.concurrency.policy;
  if (run.spec.concurrencyPolicy === 'Allow' && configPolicy !== 'Allow') {
    return refused('ConcurrencyNotAllowed', `spec.concurrencyPolicy Allow would lift the limit of JobConfig ${configName} (${configPolicy}); a run may choose Forbid or Enqueue`);
  }
  const optionProblems = optionRefusal(run, config);
  return optionProblems ? refused('OptionsNotAllowed', optionProblems) : { kind: 'admitted' };
}

const refused = (reason: AdmissionReason, message: string): Admission => ({ kind: 'refused', reason, message });

/** `pod`, `job`, `workflow`, or `customResource <apiVersion> <kind>`. */
function executorKind(taskTemplate: TaskTemplate): string {
  const custom = taskTemplate.customResource?.manifest as { apiVersion?: unknown; kind?: unknown } | undefined;
  if (custom) return `customResource ${String(custom.apiVersion)} ${String(custom.kind)}`;
  return Object.keys(taskTemplate).filter((key) => (taskTemplate as Record<string, unknown>)[key] !== undefined).join('+');
}

/** Messages name fields only, never values: option values may be sensitive, and the message goes into an event. */
function optionRefusal(run: JobRunObject, config: JobConfigObject): string | undefined {
  const options = config.spec.options ?? [];
  const { values, errors } = evaluateOptions(options, givenOptionValues(run, options), 'spec.optionValues');
  if (errors.length) {
    return `spec.optionValues are not valid for JobConfig ${config.metadata.name}: ${errors.map((e) => formatFieldError({ field: e.field, message: e.message, valid: e.valid })).join('; ')}`;
  }
  const granted: Record<string, string> = { 'jobconfig.name': config.metadata.name, ...(config.metadata.namespace && { 'jobconfig.namespace': config.metadata.namespace }) };
  for (const [name, value] of Object.entries(values)) granted[`option.${name}`] = value;
  // Keys the run leaves out are computed at render from the run itself (or unknown there: a render error, not a grant).
  const forged = Object.entries(run.spec.substitutions ?? {})
    .filter(([key, value]) => isReservedVariable(key) && !/^(job|task)\./.test(key) && granted[key] !== value)
    .map(([key]) => key);
  if (forged.length === 0) return undefined;
  return `spec.substitutions ${forged.map((k) => `"${k}"`).join(', ')} differ from what JobConfig ${config.metadata.name} gives for spec.optionValues; leave resolved variables to taskplane (taskplane run, config.run(...))`;
}

/**
 * `job`: each task is a batch/v1 Job. backoffLimit defaults to 0 because retries belong to
 * taskplane (one attempt = one Job); set it to let Kubernetes retry Pods inside an attempt.
 */
import type { FieldError } from '../errors.js';
import { objectFrom } from './_metadata.js';
import { deadlinePatch, findCondition, unlessDeleting, unlessFinished, type Condition } from './_observe.js';
import { metadataErrors, type TemplateMetadata } from '../labels.js';
import { numberErrors, validatePodSpec, type PodTaskTemplate } from './pod.js';
import type { Executor, LiveTask, TaskObservation } from './types.js';

export type JobTaskTemplate = PodTaskTemplate;

function podTemplateSpec(jobSpec: Record<string, unknown>): Record<string, unknown> | undefined {
  const template = jobSpec.template as { spec?: Record<string, unknown> } | undefined;
  return template?.spec;
}

interface JobStatus {
  readonly conditions?: readonly Condition[];
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly active?: number;
  readonly ready?: number;
  readonly succeeded?: number;
  readonly failed?: number;
}

/** batch/v1 conditions with 1.31+ semantics: `Complete`/`Failed` only once every pod has stopped. */
function observe(task: LiveTask): TaskObservation {
  const status: JobStatus = task.object.status ?? {};
  const failed = findCondition(status.conditions, 'Failed');
  const terminal = failed ?? findCondition(status.conditions, 'Complete');
  if (terminal) {
    return {
      state: 'Terminated',
      // A passed activeDeadlineSeconds is how taskplane kills a Job in place.
      result: !failed ? 'Succeeded' : failed.reason === 'DeadlineExceeded' ? 'Killed' : 'Failed',
      reason: terminal.reason,
      message: terminal.message,
      runningTimestamp: status.startTime,
      finishTimestamp: terminal.lastTransitionTime ?? status.completionTime,
    };
  }
  // The outcome is decided but pods may still be terminating: starting a replacement now would overlap.
  const target = findCondition(status.conditions, 'FailureTarget') ?? findCondition(status.conditions, 'SuccessCriteriaMet');
  if (target) return unlessDeleting(task, { state: 'Running', reason: target.reason, message: target.message });
  if ((task.object.spec as { suspend?: boolean } | undefined)?.suspend) {
    return unlessDeleting(task, { state: 'Starting', reason: 'Suspended', message: findCondition(status.conditions, 'Suspended')?.message });
  }
  // Pods that are all Pending keep the Job Starting, so the pending timeout applies. `ready` is
  // absent only before the controller's first sync or on clusters without JobReadyPods.
  const started = (status.ready ?? 0) > 0 || (status.ready === undefined && (status.active ?? 0) > 0) || (status.succeeded ?? 0) > 0 || (status.failed ?? 0) > 0;
  return unlessDeleting(task, { state: started ? 'Running' : 'Starting' });
}

export const jobExecutor: Executor<JobTaskTemplate> = {
  name: 'job',
  validate(template, field): FieldError[] {
    const podSpec = podTemplateSpec(template.spec);
    if (!podSpec) return [{ field: `${field}.spec.template.spec`, message: 'the Job needs a pod template' }];
    return [
      ...numberErrors(template.spec, `${field}.spec`, { backoffLimit: 0, parallelism: 0, completions: 0, activeDeadlineSeconds: 1, ttlSecondsAfterFinished: 0 }),
      ...validatePodSpec(podSpec, `${field}.spec.template.spec`),
    ];
  },
  validateRendered(manifest, field) {
    const template = (manifest.spec as { template?: { metadata?: TemplateMetadata; spec?: Record<string, unknown> } }).template;
    return [
      ...metadataErrors(template?.metadata ?? {}, `${field}.spec.template.metadata`),
      ...validatePodSpec(template?.spec ?? {}, `${field}.spec.template.spec`, true),
    ];
  },
  manifest(template) {
    const manifest = objectFrom('batch/v1', 'Job', template.metadata, template.spec);
    const spec = manifest.spec as Record<string, unknown>;
    spec.backoffLimit ??= 0;
    podTemplateSpec(spec)!.restartPolicy ??= 'Never';
    return manifest;
  },
  observe,
  // activeDeadlineSeconds is mutable on a live Job, and counts from status.startTime.
  kill: (task, _template, now) => unlessFinished(observe(task), () => deadlinePatch(task.object, now)),
};

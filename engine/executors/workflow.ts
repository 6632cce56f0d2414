/**
 * `workflow`: each task is an Argo Workflow (argoproj.io/v1alpha1). Substitution reaches every
 * string, arguments and templates included.
 */
import { metadataErrors, type TemplateMetadata } from '../labels.js';
import { objectFrom } from './_metadata.js';
import { unlessDeleting, unlessFinished } from './_observe.js';
import type { PodTaskTemplate } from './pod.js';
import type { Executor, LiveTask, TaskObservation } from './types.js';

export type WorkflowTaskTemplate = PodTaskTemplate;

interface WorkflowStatus {
  readonly phase?: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly outputs?: unknown;
}

function observe(task: LiveTask): TaskObservation {
  const status: WorkflowStatus = task.object.status ?? {};
  const shutdown = (task.object.spec as { shutdown?: string } | undefined)?.shutdown;
  if (status.phase === 'Succeeded' || status.phase === 'Failed' || status.phase === 'Error') {
    // Argo reports a stopped or terminated Workflow as Failed; shutdown is taskplane's kill.
    const outcome: Pick<TaskObservation, 'result' | 'reason'> =
      status.phase === 'Succeeded' ? { result: 'Succeeded' } : shutdown ? { result: 'Killed', reason: 'Shutdown' } : { result: 'Failed', reason: status.phase };
    return { state: 'Terminated', ...outcome, message: status.message, runningTimestamp: status.startedAt, finishTimestamp: status.finishedAt, taskResult: status.outputs };
  }
  const observation: TaskObservation = status.phase === 'Running' ? { state: 'Running', runningTimestamp: status.startedAt } : { state: 'Starting' };
  // Once shutdown is set, Argo is stopping it: the same as a deletion in progress.
  return shutdown ? { ...observation, state: 'Killing' } : unlessDeleting(task, observation);
}

export const workflowExecutor: Executor<WorkflowTaskTemplate> = {
  name: 'workflow',
  validate(template, field) {
    const spec = template.spec;
    if (typeof spec.entrypoint === 'string' || spec.workflowTemplateRef) return [];
    return [{ field: `${field}.spec.entrypoint`, message: 'a Workflow needs an entrypoint', valid: 'spec.entrypoint, or spec.workflowTemplateRef' }];
  },
  // Argo copies podMetadata and each template's metadata onto the pods it creates.
  validateRendered(manifest, field) {
    const spec = manifest.spec as { podMetadata?: TemplateMetadata; templates?: { metadata?: TemplateMetadata }[] };
    const templates = Array.isArray(spec.templates) ? spec.templates : [];
    return [
      ...metadataErrors(spec.podMetadata ?? {}, `${field}.spec.podMetadata`),
      ...templates.flatMap((template, i) => metadataErrors(template?.metadata ?? {}, `${field}.spec.templates[${i}].metadata`)),
    ];
  },
  manifest: (template) => objectFrom('argoproj.io/v1alpha1', 'Workflow', template.metadata, template.spec),
  observe,
  // Exactly what `argo terminate` patches; Argo rejects it on a finished Workflow.
  kill: (task) => unlessFinished(observe(task), () => ({ kind: 'mergePatch', patch: { spec: { shutdown: 'Terminate' } } })),
};

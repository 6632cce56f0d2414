/**
 * `job`: each task is a batch/v1 Job. backoffLimit defaults to 0 because retries belong to
 * taskplane (one attempt = one Job); set it to let Kubernetes retry Pods inside an attempt.
 */
import type { FieldError } from '../errors.js';
import { objectFrom } from './_metadata.js';
import { validatePodSpec, type PodTaskTemplate } from './pod.js';
import type { Executor } from './types.js';

export type JobTaskTemplate = PodTaskTemplate;

function podTemplateSpec(jobSpec: Record<string, unknown>): Record<string, unknown> | undefined {
  const template = jobSpec.template as { spec?: Record<string, unknown> } | undefined;
  return template?.spec;
}

export const jobExecutor: Executor<JobTaskTemplate> = {
  name: 'job',
  validate(template, field): FieldError[] {
    const podSpec = podTemplateSpec(template.spec);
    if (!podSpec) return [{ field: `${field}.spec.template.spec`, message: 'the Job needs a pod template' }];
    return validatePodSpec(podSpec, `${field}.spec.template.spec`);
  },
  manifest(template) {
    const manifest = objectFrom('batch/v1', 'Job', template.metadata, template.spec);
    const spec = manifest.spec as Record<string, unknown>;
    spec.backoffLimit ??= 0;
    podTemplateSpec(spec)!.restartPolicy ??= 'Never';
    return manifest;
  },
};

/**
 * `pod`: each task is a v1 Pod. restartPolicy defaults to Never (retries belong to taskplane);
 * Always is rejected because such a Pod never finishes.
 */
import type { FieldError } from '../errors.js';
import { objectFrom } from './_metadata.js';
import type { Executor } from './types.js';

export interface PodTaskTemplate {
  readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: Record<string, unknown>;
}

/** Checks shared by Pods and the pod template of Jobs. */
export function validatePodSpec(spec: Record<string, unknown>, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.restartPolicy === 'Always') {
    errors.push({ field: `${field}.restartPolicy`, message: 'a task must run to completion', value: 'Always', valid: 'Never (default) or OnFailure' });
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    errors.push({ field: `${field}.containers`, message: 'at least one container is required' });
  }
  return errors;
}

export const podExecutor: Executor<PodTaskTemplate> = {
  name: 'pod',
  validate: (template, field) => validatePodSpec(template.spec, `${field}.spec`),
  manifest(template) {
    const manifest = objectFrom('v1', 'Pod', template.metadata, template.spec);
    (manifest.spec as Record<string, unknown>).restartPolicy ??= 'Never';
    return manifest;
  },
};

/**
 * `workflow`: each task is an Argo Workflow (argoproj.io/v1alpha1). Substitution reaches every
 * string, arguments and templates included.
 */
import { objectFrom } from './_metadata.js';
import type { PodTaskTemplate } from './pod.js';
import type { Executor } from './types.js';

export type WorkflowTaskTemplate = PodTaskTemplate;

export const workflowExecutor: Executor<WorkflowTaskTemplate> = {
  name: 'workflow',
  validate(template, field) {
    const spec = template.spec;
    if (typeof spec.entrypoint === 'string' || spec.workflowTemplateRef) return [];
    return [{ field: `${field}.spec.entrypoint`, message: 'a Workflow needs an entrypoint', valid: 'spec.entrypoint, or spec.workflowTemplateRef' }];
  },
  manifest: (template) => objectFrom('argoproj.io/v1alpha1', 'Workflow', template.metadata, template.spec),
};

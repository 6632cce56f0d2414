/**
 * validateJobConfig on definitions TypeScript would refuse (plain JavaScript, YAML applied by hand):
 * every malformed task template is a field error, never a crash of an executor's own checks.
 */
import { describe, expect, it } from 'vitest';
import { validateJobConfig } from '../../engine/config.js';
import { validateRun } from '../../engine/render.js';
import type { JobConfigSpec, JobRunObject } from '../../engine/schema/resources.js';

const spec = (taskTemplate: unknown): JobConfigSpec => ({ template: { taskTemplate }, concurrency: { policy: 'Allow' } }) as unknown as JobConfigSpec;

describe('validateJobConfig with malformed task templates', () => {
  it.each([
    ['a Job without spec', { job: { template: { spec: { containers: [{ name: 'a', image: 'b' }] } } } }, 'spec.template.taskTemplate.job'],
    ['a Pod without spec', { pod: { metadata: {} } }, 'spec.template.taskTemplate.pod'],
    ['a Workflow without spec', { workflow: {} }, 'spec.template.taskTemplate.workflow'],
    ['a custom resource without manifest', { customResource: { successCondition: 'true' } }, 'spec.template.taskTemplate.customResource'],
    ['a Pod whose spec is a string', { pod: { spec: 'containers' } }, 'spec.template.taskTemplate.pod.spec'],
    ['a Job whose spec is a list', { job: { spec: [] } }, 'spec.template.taskTemplate.job.spec'],
  ])('%s: a field error, no exception', (_what, taskTemplate, field) => {
    const errors = validateJobConfig('nightly', spec(taskTemplate));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => e.field.startsWith(field))).toBe(true);
  });
});

describe('validateRun with a malformed task template (a JobRun applied by hand: the watcher reads it)', () => {
  it('is an InvalidSpec-style field error, not an exception that would leave the run retrying', () => {
    const run = {
      apiVersion: 'taskplane.dev/v1alpha1',
      kind: 'JobRun',
      metadata: { name: 'nightly-r1', namespace: 'batch' },
      spec: { configName: 'nightly', substitutions: {}, template: { taskTemplate: { job: { template: {} } } } },
    } as unknown as JobRunObject;
    const errors = validateRun(run);
    expect(errors.some((e) => e.field.startsWith('spec.template.taskTemplate.job'))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FieldError } from '../../engine/errors.js';
import type { ParallelIndex } from '../../engine/indexes.js';
import { renderFirstAttempts, renderTask, validateRun, type RenderedTask } from '../../engine/render.js';
import { MAX_RUN_NAME_LENGTH } from '../../engine/names.js';
import type { JobRunObject, JobRunSpec, TaskTemplate } from '../../engine/schema/index.js';
import { deepFreeze } from './helpers.js';

const RUN = 'nightly-2026-11-21';
const NS = 'batch';
const T = 'spec.template.taskTemplate';
const SUCCESS = "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'True')";
const FAILURE = "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'False')";

/** `indexArg` names the index variable, which exists only for its kind of index. */
const containerWith = (indexArg: string) => ({ name: 'main', image: 'busybox:${option.env}', args: ['${task.name}', indexArg, '${task.retry_index}'] });
const container = containerWith('${task.index_key}');
const metadata = { labels: { team: 'data', env: '${option.env}' }, annotations: { 'example.com/note': 'run ${job.name} of ${jobconfig.name}' } };

const templatesWith = (indexArg: string) => {
  const container = containerWith(indexArg);
  return {
  pod: { pod: { metadata, spec: { containers: [container] } } },
  job: { job: { metadata, spec: { template: { spec: { containers: [container] } } } } },
  workflow: {
    workflow: {
      metadata,
      spec: {
        entrypoint: 'main',
        arguments: { parameters: [{ name: 'env', value: '${option.env}' }] },
        templates: [{ name: 'main', container: { image: 'busybox', args: ['${task.name}', indexArg, '${task.retry_index}'] } }],
      },
    },
  },
  customResource: {
    customResource: {
      manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata, spec: { params: [{ name: 'args', value: ['${task.name}', indexArg, '${task.retry_index}'] }] } },
      successCondition: SUCCESS,
      failureCondition: FAILURE,
    },
  },
} satisfies Record<string, TaskTemplate>;
};
const TEMPLATES = templatesWith('${task.index_key}');

interface RunOptions {
  name?: string;
  namespace?: string | undefined;
  substitutions?: Record<string, string>;
  template?: Partial<JobRunSpec['template']>;
}

function makeRun(taskTemplate: TaskTemplate, options: RunOptions = {}): JobRunObject {
  const namespace = 'namespace' in options ? options.namespace : NS;
  return {
    apiVersion: 'taskplane.dev/v1alpha1',
    kind: 'JobRun',
    metadata: { name: options.name ?? RUN, ...(namespace !== undefined && { namespace }) },
    spec: {
      configName: 'nightly',
      substitutions: options.substitutions ?? { 'option.env': 'prod' },
      template: { taskTemplate, maxAttempts: 3, parallelism: { withKeys: ['eu', 'Us_East'] }, ...options.template },
    },
  };
}

/** Renders and expects success. */
function render(run: JobRunObject, index: ParallelIndex, retryIndex: number, runtime = {}): RenderedTask {
  const { task, errors } = renderTask(run, index, retryIndex, runtime);
  expect(errors).toEqual([]);
  return task!;
}

function renderErrors(run: JobRunObject, index: ParallelIndex = { indexKey: 'eu' }): FieldError[] {
  const result = renderTask(run, index, 0);
  expect(result.task).toBeUndefined();
  return result.errors;
}

const fieldsAndMessages = (errors: readonly FieldError[]) => errors.map(({ field, message }) => ({ field, message }));

/** Where each executor's fixture puts its `args`. */
const ARGS: Record<keyof typeof TEMPLATES, (m: Record<string, any>) => unknown> = {
  pod: (m) => m.spec.containers[0].args,
  job: (m) => m.spec.template.spec.containers[0].args,
  workflow: (m) => m.spec.templates[0].container.args,
  customResource: (m) => m.spec.params[0].value,
};

describe('render: one manifest per executor', () => {
  it.each([
    ['pod', 'v1', 'Pod'],
    ['job', 'batch/v1', 'Job'],
    ['workflow', 'argoproj.io/v1alpha1', 'Workflow'],
    ['customResource', 'tekton.dev/v1', 'TaskRun'],
  ] as const)('%s → %s %s with taskplane metadata and every string substituted', (executor, apiVersion, kind) => {
    const run = makeRun(TEMPLATES[executor]);
    expect(validateRun(run)).toEqual([]);
    const task = render(run, { indexKey: 'eu' }, 1);
    expect(task.name).toBe(`${RUN}-eu-1`);
    expect(task.retryIndex).toBe(1);
    expect(task.index).toEqual({ indexKey: 'eu' });
    const m = task.manifest;
    expect([m.apiVersion, m.kind]).toEqual([apiVersion, kind]);
    expect(m.metadata).toEqual({
      name: `${RUN}-eu-1`,
      namespace: NS,
      labels: {
        team: 'data',
        env: 'prod',
        'taskplane.dev/run': RUN,
        'taskplane.dev/config': 'nightly',
        'taskplane.dev/task-index': 'eu',
        'taskplane.dev/retry-index': '1',
      },
      annotations: {
        'example.com/note': `run ${RUN} of nightly`,
        'taskplane.dev/parallel-index': '{"indexKey":"eu"}',
        'argocd.argoproj.io/ignore-healthcheck': 'true',
      },
    });
    expect(ARGS[executor](m)).toEqual([`${RUN}-eu-1`, 'eu', '1']);
    expect(JSON.stringify(m)).not.toContain('${');
  });

  it('substitutes a Workflow\'s arguments as well as its templates', () => {
    const m = render(makeRun(TEMPLATES.workflow), { indexKey: 'eu' }, 0).manifest as Record<string, any>;
    expect(m.spec.arguments.parameters[0].value).toBe('prod');
  });

  it('uses the hashed index part in the name and the task-index label alike', () => {
    const task = render(makeRun(TEMPLATES.pod), { indexKey: 'Us_East' }, 0);
    const part = task.manifest.metadata.labels!['taskplane.dev/task-index']!;
    expect(part).toMatch(/^us-east--[a-z2-7]{10}$/);
    expect(task.name).toBe(`${RUN}-${part}-0`);
    expect(task.manifest.metadata.annotations!['taskplane.dev/parallel-index']).toBe('{"indexKey":"Us_East"}');
  });

  it('writes the matrix index annotation with sorted keys', () => {
    const run = makeRun(templatesWith('${task.index_matrix.goos}').pod, { template: { parallelism: { withMatrix: { goos: ['linux'], goarch: ['amd64'] } } } });
    const task = render(run, { matrixValues: { goos: 'linux', goarch: 'amd64' } }, 0);
    expect(task.name).toBe(`${RUN}-amd64-linux-0`);
    expect(task.manifest.metadata.annotations!['taskplane.dev/parallel-index']).toBe('{"matrixValues":{"goarch":"amd64","goos":"linux"}}');
  });

  it("lets taskplane's labels and annotations win over the template's", () => {
    const run = makeRun({
      pod: {
        metadata: { labels: { 'taskplane.dev/run': 'spoofed', 'taskplane.dev/retry-index': '7' }, annotations: { 'argocd.argoproj.io/ignore-healthcheck': 'false' } },
        spec: { containers: [container] },
      },
    });
    const { labels, annotations } = render(run, { indexKey: 'eu' }, 0).manifest.metadata;
    expect(labels!['taskplane.dev/run']).toBe(RUN);
    expect(labels!['taskplane.dev/retry-index']).toBe('0');
    expect(annotations!['argocd.argoproj.io/ignore-healthcheck']).toBe('true');
  });

  it('keeps other metadata of a custom resource (finalizers), and omits the namespace when the run has none', () => {
    const run = makeRun(
      { customResource: { ...TEMPLATES.customResource.customResource, manifest: { apiVersion: 'x.io/v1', kind: 'Thing', metadata: { finalizers: ['x.io/keep'] }, spec: {} } } },
      { namespace: undefined },
    );
    const m = render(run, { indexKey: 'eu' }, 0).manifest;
    expect(m.metadata.finalizers).toEqual(['x.io/keep']);
    expect('namespace' in m.metadata).toBe(false);
  });
});

describe('render: executor defaults', () => {
  it('gives a Pod restartPolicy Never unless set', () => {
    expect(render(makeRun(TEMPLATES.pod), { indexKey: 'eu' }, 0).manifest.spec).toMatchObject({ restartPolicy: 'Never' });
    const onFailure = makeRun({ pod: { spec: { containers: [container], restartPolicy: 'OnFailure' } } });
    expect(render(onFailure, { indexKey: 'eu' }, 0).manifest.spec).toMatchObject({ restartPolicy: 'OnFailure' });
  });

  it('gives a Job backoffLimit 0 and its pod template restartPolicy Never unless set', () => {
    const spec = render(makeRun(TEMPLATES.job), { indexKey: 'eu' }, 0).manifest.spec as Record<string, any>;
    expect(spec.backoffLimit).toBe(0);
    expect(spec.template.spec.restartPolicy).toBe('Never');
    const custom = makeRun({ job: { spec: { backoffLimit: 2, template: { spec: { containers: [container], restartPolicy: 'OnFailure' } } } } });
    const customSpec = render(custom, { indexKey: 'eu' }, 0).manifest.spec as Record<string, any>;
    expect(customSpec.backoffLimit).toBe(2);
    expect(customSpec.template.spec.restartPolicy).toBe('OnFailure');
  });

  it('adds nothing to a Workflow or custom resource spec', () => {
    expect(render(makeRun(TEMPLATES.workflow), { indexKey: 'eu' }, 0).manifest.spec).not.toHaveProperty('restartPolicy');
    expect(Object.keys(render(makeRun(TEMPLATES.customResource), { indexKey: 'eu' }, 0).manifest.spec as object)).toEqual(['params']);
  });
});

describe('render: variables', () => {
  const probe = (args: string[]): TaskTemplate => ({ pod: { spec: { containers: [{ name: 'main', image: 'busybox', args }] } } });
  const argsOf = (task: RenderedTask) => ARGS.pod(task.manifest);

  it('provides the job, jobconfig and task variables', () => {
    const run = makeRun(
      probe(['${job.name}', '${job.namespace}', '${job.type}', '${job.max_attempts}', '${jobconfig.name}', '${jobconfig.namespace}', '${task.name}', '${task.namespace}', '${task.retry_index}', '${task.index_num}']),
      { template: { parallelism: { withCount: 5 } } },
    );
    expect(argsOf(render(run, { indexNumber: 4 }, 2))).toEqual([RUN, NS, 'Adhoc', '3', 'nightly', NS, `${RUN}-4-2`, NS, '2', '4']);
  });

  it('provides task.index_matrix.<key> for a matrix index', () => {
    const run = makeRun(probe(['${task.index_matrix.goos}/${task.index_matrix.goarch}']), { template: { parallelism: { withMatrix: { goos: ['linux'], goarch: ['arm64'] } } } });
    expect(argsOf(render(run, { matrixValues: { goos: 'linux', goarch: 'arm64' } }, 0))).toEqual(['linux/arm64']);
  });

  it('substitutes job.uid and jobconfig.uid only when the watcher passes them', () => {
    const run = makeRun(probe(['${job.uid}', '${jobconfig.uid}']));
    expect(argsOf(render(run, { indexKey: 'eu' }, 0, { jobUid: 'u-1', jobConfigUid: 'u-2' }))).toEqual(['u-1', 'u-2']);
    const errors = renderErrors(run);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^\$\{job\.uid\} is not available here: the UID exists only once the object is in the cluster/),
      expect.stringMatching(/^\$\{jobconfig\.uid\} is not available here/),
    ]);
    expect(errors[0]!.field).toBe(`${T}.pod.spec.containers[0].args[0]`);
  });

  it('reports namespace variables as unavailable when the run has no namespace', () => {
    const errors = renderErrors(makeRun(probe(['${task.namespace}']), { namespace: undefined }));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^\$\{task\.namespace\} is not available here: the run has no namespace/);
  });

  it('reports an unknown variable with its path inside a custom resource manifest', () => {
    const run = makeRun({ customResource: { ...TEMPLATES.customResource.customResource, manifest: { apiVersion: 'x.io/v1', kind: 'Thing', spec: { a: ['${task.nmae}'] } } } });
    expect(renderErrors(run)).toEqual([
      { field: `${T}.customResource.manifest.spec.a[0]`, message: 'unknown variable ${task.nmae}', value: '${task.nmae}', valid: 'did you mean ${task.name}?' },
    ]);
  });

  it('rejects job.* and task.* keys in a run\'s substitutions', () => {
    const run = makeRun(TEMPLATES.pod, { substitutions: { 'option.env': 'prod', 'job.name': 'evil', 'task.name': 'evil', 'jobconfig.name': 'ok', greeting: 'ok' } });
    expect(fieldsAndMessages(validateRun(run))).toEqual([
      { field: 'spec.substitutions["job.name"]', message: 'job.* and task.* variables are computed by taskplane and cannot be set' },
      { field: 'spec.substitutions["task.name"]', message: 'job.* and task.* variables are computed by taskplane and cannot be set' },
    ]);
  });

  it("computes job.* and task.* even when a hand-written run's substitutions set them", () => {
    const run = makeRun(probe(['${job.name}', '${task.name}', '${task.retry_index}', '${job.max_attempts}', '${option.env}']), {
      substitutions: { 'option.env': 'prod', 'job.name': 'evil', 'task.name': 'evil', 'task.retry_index': '9', 'job.max_attempts': '50' },
    });
    expect(argsOf(render(run, { indexKey: 'eu' }, 0))).toEqual([RUN, `${RUN}-eu-0`, '0', '3', 'prod']);
  });

  it('does not let a substitution stand in for a computed variable that is absent', () => {
    const run = makeRun(probe(['${job.uid}', '${task.index_num}']), { substitutions: { 'job.uid': 'fake', 'task.index_num': '99' } });
    // A key index has no task.index_num; job.uid does not exist at synth.
    expect(renderErrors(run).map((e) => e.message)).toEqual([
      expect.stringMatching(/^\$\{job\.uid\} is not available here/),
      'unknown variable ${task.index_num}',
    ]);
  });

  it('lets a run\'s substitutions set jobconfig.* and user variables', () => {
    const run = makeRun(probe(['${jobconfig.name}', '${greeting}']), { substitutions: { 'jobconfig.name': 'renamed', greeting: 'hi' } });
    expect(argsOf(render(run, { indexKey: 'eu' }, 0))).toEqual(['renamed', 'hi']);
  });
});

describe('render: errors', () => {
  const podWith = (spec: Record<string, unknown>): TaskTemplate => ({ pod: { spec } });
  const jobWith = (podSpec: Record<string, unknown>): TaskTemplate => ({ job: { spec: { template: { spec: podSpec } } } });
  const cr = (overrides: Record<string, unknown>): TaskTemplate => ({ customResource: { ...TEMPLATES.customResource.customResource, ...overrides } as never });

  it.each<[string, TaskTemplate, { field: string; message: string }[]]>([
    ['a Pod with restartPolicy Always', podWith({ containers: [container], restartPolicy: 'Always' }), [{ field: `${T}.pod.spec.restartPolicy`, message: 'a task must run to completion' }]],
    ['a Job whose pods restart Always', jobWith({ containers: [container], restartPolicy: 'Always' }), [{ field: `${T}.job.spec.template.spec.restartPolicy`, message: 'a task must run to completion' }]],
    ['a Pod without containers', podWith({ containers: [] }), [{ field: `${T}.pod.spec.containers`, message: 'at least one container is required' }]],
    ['a Job without containers', jobWith({}), [{ field: `${T}.job.spec.template.spec.containers`, message: 'at least one container is required' }]],
    ['a Job without a pod template', { job: { spec: {} } }, [{ field: `${T}.job.spec.template.spec`, message: 'the Job needs a pod template' }]],
    ['a Workflow without an entrypoint', { workflow: { spec: { templates: [] } } }, [{ field: `${T}.workflow.spec.entrypoint`, message: 'a Workflow needs an entrypoint' }]],
    [
      'a custom resource without apiVersion and kind',
      cr({ manifest: { spec: {} } }),
      [
        { field: `${T}.customResource.manifest.apiVersion`, message: 'is required' },
        { field: `${T}.customResource.manifest.kind`, message: 'is required' },
      ],
    ],
    [
      'a custom resource that sets metadata.name',
      cr({ manifest: { apiVersion: 'x.io/v1', kind: 'Thing', metadata: { name: 'fixed' } } }),
      [{ field: `${T}.customResource.manifest.metadata.name`, message: 'is set by taskplane for each task; remove it' }],
    ],
    [
      'a custom resource that sets metadata.namespace',
      cr({ manifest: { apiVersion: 'x.io/v1', kind: 'Thing', metadata: { namespace: 'elsewhere' } } }),
      [{ field: `${T}.customResource.manifest.metadata.namespace`, message: 'is set by taskplane for each task; remove it' }],
    ],
    ['two executors', { ...TEMPLATES.pod, ...TEMPLATES.job }, [{ field: T, message: 'exactly one executor allowed (got pod, job)' }]],
    ['no executor', {}, [{ field: T, message: 'an executor is required' }]],
  ])('rejects %s', (_, taskTemplate, expected) => {
    const run = makeRun(taskTemplate);
    expect(fieldsAndMessages(validateRun(run))).toEqual(expected);
    expect(fieldsAndMessages(renderErrors(run))).toEqual(expected);
  });

  it('accepts a Workflow that references a WorkflowTemplate instead of an entrypoint', () => {
    expect(validateRun(makeRun({ workflow: { spec: { workflowTemplateRef: { name: 'tpl' } } } }))).toEqual([]);
  });

  it.each([
    ['successCondition', 'self.status.phase =='],
    ['failureCondition', 'self.status.(phase'],
    ['runningCondition', '&& true'],
    ['resultExpression', 'self.status.result]'],
  ])('rejects CEL that does not compile in %s', (key, expression) => {
    const errors = validateRun(makeRun(cr({ [key]: expression })));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: `${T}.customResource.${key}`, message: expect.stringMatching(/^CEL does not compile: /), value: expression });
  });

  it('rejects an unknown executor key', () => {
    const run = makeRun({ cronJob: { spec: {} } } as TaskTemplate);
    const errors = renderErrors(run);
    expect(errors).toContainEqual(expect.objectContaining({ field: `${T}.cronJob`, message: 'unknown executor', valid: 'one of pod, job, workflow, customResource, http' }));
    expect(fieldsAndMessages(validateRun(run))).toContainEqual({ field: `${T}.cronJob`, message: 'is not a known field' });
  });

  it('rejects an unknown executor key next to a valid one', () => {
    const run = makeRun({ ...TEMPLATES.pod, cronJob: {} } as TaskTemplate);
    expect(fieldsAndMessages(renderErrors(run))).toEqual([{ field: `${T}.cronJob`, message: 'unknown executor' }]);
  });

  it('rejects a label value longer than 63 characters after substitution', () => {
    const long = 'x'.repeat(70);
    const run = makeRun({ pod: { metadata: { labels: { owner: '${option.owner}' } }, spec: { containers: [container] } } }, { substitutions: { 'option.env': 'prod', 'option.owner': long } });
    expect(renderErrors(run)).toEqual([
      { field: `${T}.pod.metadata.labels.owner`, message: 'label value is 70 characters', value: long, valid: 'at most 63 characters' },
    ]);
  });

  it('rejects a label value that substitution fills with forbidden characters', () => {
    const run = makeRun({ pod: { metadata: { labels: { owner: '${option.owner}' } }, spec: { containers: [container] } } }, { substitutions: { 'option.env': 'prod', 'option.owner': 'a b' } });
    expect(fieldsAndMessages(renderErrors(run))).toEqual([{ field: `${T}.pod.metadata.labels.owner`, message: 'label value has characters that are not allowed' }]);
  });

  it('accepts a label value of exactly 63 characters, and an annotation of any length', () => {
    const run = makeRun(
      { pod: { metadata: { labels: { owner: '${option.owner}' }, annotations: { long: '${option.long}' } }, spec: { containers: [container] } } },
      { substitutions: { 'option.env': 'prod', 'option.owner': 'x'.repeat(63), 'option.long': 'y'.repeat(5000) } },
    );
    expect(render(run, { indexKey: 'eu' }, 0).manifest.metadata.annotations!.long).toHaveLength(5000);
  });

  it.each([
    ['too long', 'r'.repeat(MAX_RUN_NAME_LENGTH + 1)],
    ['not a DNS label', 'Nightly_Run'],
    ['ending in a dash', 'nightly-'],
  ])('rejects a run name that is %s', (_, name) => {
    const errors = validateRun(makeRun(TEMPLATES.pod, { name }));
    expect(errors).toEqual([expect.objectContaining({ field: 'metadata.name', value: name, message: 'run name must be a DNS label short enough to prefix its task names' })]);
  });

  it('accepts a run name of the maximum length, even with hashed index parts', () => {
    const run = makeRun(TEMPLATES.pod, { name: 'r'.repeat(MAX_RUN_NAME_LENGTH) });
    const { tasks, errors } = renderFirstAttempts(run);
    expect(errors).toEqual([]);
    expect(tasks.map((t) => t.name.length <= 63)).toEqual([true, true]);
  });
});

describe('renderFirstAttempts', () => {
  it('renders the first attempt of every index, in index order', () => {
    const run = makeRun(templatesWith('${task.index_num}').pod, { template: { parallelism: { withCount: 4 } } });
    const { tasks, errors } = renderFirstAttempts(run);
    expect(errors).toEqual([]);
    expect(tasks.map((t) => [t.name, t.index, t.retryIndex])).toEqual([0, 1, 2, 3].map((i) => [`${RUN}-${i}-0`, { indexNumber: i }, 0]));
  });

  it('renders one task with the default index for a run without parallelism', () => {
    const run = makeRun(templatesWith('${task.index_num}').pod, { template: { parallelism: undefined } });
    const { tasks } = renderFirstAttempts(run);
    expect(tasks.map((t) => t.name)).toEqual([`${RUN}-0-0`]);
    expect(tasks[0]!.manifest.metadata.annotations!['taskplane.dev/parallel-index']).toBe('{"indexNumber":0}');
  });

  it('renders a matrix in Furiko order', () => {
    const run = makeRun(templatesWith('${task.index_matrix.goos}').pod, { template: { parallelism: { withMatrix: { goos: ['linux', 'darwin'], goarch: ['amd64', 'arm64'] } } } });
    expect(renderFirstAttempts(run).tasks.map((t) => t.name)).toEqual(['amd64-linux', 'amd64-darwin', 'arm64-linux', 'arm64-darwin'].map((p) => `${RUN}-${p}-0`));
  });

  it('reports an error that repeats at every index once', () => {
    const run = makeRun({ pod: { spec: { containers: [{ name: 'main', image: 'busybox', args: ['${task.nmae}', '${option.tpyo}'] }] } } }, { template: { parallelism: { withCount: 5 } } });
    const { tasks, errors } = renderFirstAttempts(run);
    expect(tasks).toEqual([]);
    expect(errors.map((e) => e.value)).toEqual(['${task.nmae}', '${option.tpyo}']);
  });

  it('reports an error that differs per index at each index', () => {
    const run = makeRun({ pod: { metadata: { labels: { k: 'bad ${task.index_key}' } }, spec: { containers: [container] } } });
    expect(renderFirstAttempts(run).errors.map((e) => e.value)).toEqual(['bad eu', 'bad Us_East']);
  });

  it('returns the run\'s validation errors and no tasks when the run is invalid', () => {
    const run = makeRun({ pod: { spec: { containers: [] } } }, { template: { maxAttempts: 0 } });
    const { tasks, errors } = renderFirstAttempts(run);
    expect(tasks).toEqual([]);
    expect(errors.map((e) => e.field)).toEqual(['spec.template.maxAttempts', `${T}.pod.spec.containers`]);
  });
});

describe('render parity', () => {
  const INDEXES: [string, Partial<JobRunSpec['template']>, string][] = [
    ['count', { parallelism: { withCount: 3 } }, '${task.index_num}'],
    ['keys', { parallelism: { withKeys: ['eu', 'Us_East', '日本'] } }, '${task.index_key}'],
    ['matrix', { parallelism: { withMatrix: { goos: ['linux', 'darwin'], goarch: ['amd64', 'Arm-64'] } } }, '${task.index_matrix.goarch}'],
  ];
  const CASES = Object.keys(TEMPLATES).flatMap((executor) => INDEXES.map(([kind, template, indexArg]) => [executor, kind, template, indexArg] as const));
  const asYaml = (tasks: readonly RenderedTask[]) => tasks.map((t) => stringify(t.manifest)).join('---\n');

  it.each(CASES)('%s with %s indexes: synth and watcher render the same bytes, and the run is not mutated', (executor, _, template, indexArg) => {
    const run = deepFreeze(makeRun(templatesWith(indexArg)[executor as keyof typeof TEMPLATES], { template }));
    const before = structuredClone(run);
    const first = renderFirstAttempts(run);
    const again = renderFirstAttempts(run);
    expect(first.errors).toEqual([]);
    expect(first.tasks.length).toBeGreaterThanOrEqual(3);
    expect(again).toStrictEqual(first);
    expect(asYaml(again.tasks)).toBe(asYaml(first.tasks));
    for (const task of first.tasks) {
      // The watcher knows the index only from the task's annotation.
      const index = JSON.parse(task.manifest.metadata.annotations!['taskplane.dev/parallel-index']!) as ParallelIndex;
      const single = render(run, index, 0);
      expect(single).toStrictEqual(task);
      expect(JSON.stringify(single.manifest)).toBe(JSON.stringify(task.manifest));
      const retry = render(run, index, 2);
      expect(JSON.stringify(render(run, index, 2).manifest)).toBe(JSON.stringify(retry.manifest));
      expect(retry.name).toBe(task.name.replace(/-0$/, '-2'));
    }
    expect(run).toEqual(before);
  });

  it('renders fresh objects: changing one output does not affect the next render', () => {
    const run = deepFreeze(makeRun(TEMPLATES.job));
    const a = render(run, { indexKey: 'eu' }, 0);
    (a.manifest.spec as Record<string, any>).template.spec.containers[0].image = 'changed';
    a.manifest.metadata.labels!.team = 'changed';
    const b = render(run, { indexKey: 'eu' }, 0);
    expect((b.manifest.spec as Record<string, any>).template.spec.containers[0].image).toBe('busybox:prod');
    expect(b.manifest.metadata.labels!.team).toBe('data');
  });

  it('does not depend on the key order of a matrix index', () => {
    const run = makeRun(templatesWith('${task.index_matrix.goos}').pod, { template: { parallelism: { withMatrix: { goos: ['linux'], goarch: ['amd64'] } } } });
    const a = render(run, { matrixValues: { goos: 'linux', goarch: 'amd64' } }, 0);
    const b = render(run, { matrixValues: { goarch: 'amd64', goos: 'linux' } }, 0);
    expect(JSON.stringify(a.manifest)).toBe(JSON.stringify(b.manifest));
  });
});

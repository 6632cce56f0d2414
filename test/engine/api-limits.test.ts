/**
 * What the API server and etcd refuse, caught at synth: PodSpec rules TypeScript cannot express,
 * label values inside pod templates after substitution, annotation and object sizes.
 */
import { describe, expect, it } from 'vitest';
import type { FieldError } from '../../engine/errors.js';
import { MAX_ANNOTATIONS_BYTES } from '../../engine/labels.js';
import { MAX_OBJECT_BYTES, objectSizeError } from '../../engine/limits.js';
import { renderFirstAttempts, validateRun } from '../../engine/render.js';
import type { JobRunObject, TaskTemplate } from '../../engine/schema/index.js';

const T = 'spec.template.taskTemplate';
const main = { name: 'main', image: 'busybox:1.36' };

function run(taskTemplate: TaskTemplate, substitutions: Record<string, string> = {}, labels?: Record<string, string>): JobRunObject {
  return {
    apiVersion: 'taskplane.dev/v1alpha1',
    kind: 'JobRun',
    metadata: { name: 'nightly-r1', namespace: 'batch', ...(labels && { labels }) },
    spec: { configName: 'nightly', substitutions, template: { taskTemplate } },
  };
}

const fieldsAndMessages = (errors: readonly FieldError[]) => errors.map(({ field, message }) => ({ field, message }));
const pod = (spec: Record<string, unknown>): TaskTemplate => ({ pod: { spec } });
const job = (spec: Record<string, unknown>, metadata?: Record<string, unknown>): TaskTemplate => ({ job: { spec: { template: { ...(metadata && { metadata }), spec } } } });

describe('PodSpec rules of the API server, on the template', () => {
  it.each<[string, TaskTemplate, { field: string; message: string }[]]>([
    ['a container without an image', pod({ containers: [{ name: 'main' }] }), [{ field: `${T}.pod.spec.containers[0].image`, message: 'a container needs an image' }]],
    ['a container with an empty image', pod({ containers: [{ name: 'main', image: '' }] }), [{ field: `${T}.pod.spec.containers[0].image`, message: 'a container needs an image' }]],
    ['a Job container without an image', job({ containers: [{ name: 'main' }] }), [{ field: `${T}.job.spec.template.spec.containers[0].image`, message: 'a container needs an image' }]],
    ['an init container without an image', pod({ initContainers: [{ name: 'init' }], containers: [main] }), [{ field: `${T}.pod.spec.initContainers[0].image`, message: 'a container needs an image' }]],
    ['an image with white space around it', pod({ containers: [{ name: 'main', image: 'busybox ' }] }), [{ field: `${T}.pod.spec.containers[0].image`, message: 'image has leading or trailing white space' }]],
    ['a container without a name', pod({ containers: [{ image: 'busybox' }] }), [{ field: `${T}.pod.spec.containers[0].name`, message: 'a container needs a name' }]],
    ['a container name that is not a DNS label', pod({ containers: [{ name: 'Main_1', image: 'busybox' }] }), [{ field: `${T}.pod.spec.containers[0].name`, message: 'container name is not a DNS label' }]],
    [
      'a container name used twice',
      pod({ initContainers: [{ name: 'main', image: 'busybox' }], containers: [main] }),
      [{ field: `${T}.pod.spec.containers[0].name`, message: 'duplicate container name, also used by initContainers[0]' }],
    ],
    ['an env var without a name', pod({ containers: [{ ...main, env: [{ value: 'x' }] }] }), [{ field: `${T}.pod.spec.containers[0].env[0].name`, message: 'an environment variable needs a name' }]],
    [
      'a mount of an undeclared volume',
      pod({ containers: [{ ...main, volumeMounts: [{ name: 'data', mountPath: '/d' }] }], volumes: [{ name: 'cache', emptyDir: {} }] }),
      [{ field: `${T}.pod.spec.containers[0].volumeMounts[0].name`, message: 'mounts a volume the Pod does not declare' }],
    ],
    ['ephemeral containers', pod({ containers: [main], ephemeralContainers: [{ name: 'debug', image: 'busybox' }] }), [{ field: `${T}.pod.spec.ephemeralContainers`, message: 'cannot be set when a Pod is created' }]],
    ['a Pod deadline of 0 seconds', pod({ containers: [main], activeDeadlineSeconds: 0 }), [{ field: `${T}.pod.spec.activeDeadlineSeconds`, message: 'is out of range' }]],
    ['a negative grace period', pod({ containers: [main], terminationGracePeriodSeconds: -1 }), [{ field: `${T}.pod.spec.terminationGracePeriodSeconds`, message: 'is out of range' }]],
    [
      'negative and fractional Job counts',
      { job: { spec: { backoffLimit: -1, parallelism: 1.5, completions: 1, template: { spec: { containers: [main] } } } } },
      [
        { field: `${T}.job.spec.backoffLimit`, message: 'is out of range' },
        { field: `${T}.job.spec.parallelism`, message: 'is out of range' },
      ],
    ],
  ])('rejects %s', (_, taskTemplate, expected) => {
    expect(fieldsAndMessages(validateRun(run(taskTemplate)))).toEqual(expected);
  });

  it('accepts what the API server accepts, judging ${...} values once substituted', () => {
    const template = pod({
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [{ name: '${option.name}', image: '${option.image}', env: [{ name: 'A', value: '1' }], volumeMounts: [{ name: 'data', mountPath: '/d' }] }],
      volumes: [{ name: 'data', emptyDir: {} }],
    });
    expect(validateRun(run(template, { 'option.name': 'main', 'option.image': 'busybox' }))).toEqual([]);
  });
});

describe('values only substitution can make invalid, on every rendered task', () => {
  const render = (template: TaskTemplate, substitutions: Record<string, string>) => renderFirstAttempts(run(template, substitutions)).errors;

  it.each<[string, TaskTemplate, Record<string, string>, { field: string; message: string }[]]>([
    ['an image that substitution empties', pod({ containers: [{ name: 'main', image: '${option.image}' }] }), { 'option.image': '' }, [{ field: `${T}.pod.spec.containers[0].image`, message: 'image is empty after substitution' }]],
    ['an image that gains white space', pod({ containers: [{ name: 'main', image: '${option.image}' }] }), { 'option.image': ' busybox' }, [{ field: `${T}.pod.spec.containers[0].image`, message: 'image has leading or trailing white space' }]],
    ['a container name that is no DNS label', job({ containers: [{ name: '${option.name}', image: 'busybox' }] }), { 'option.name': 'Main' }, [{ field: `${T}.job.spec.template.spec.containers[0].name`, message: 'container name is not a DNS label' }]],
    [
      "a label value in a Job's pod template",
      job({ containers: [main] }, { labels: { owner: '${option.owner}' } }),
      { 'option.owner': 'x'.repeat(64) },
      [{ field: `${T}.job.spec.template.metadata.labels.owner`, message: 'label value is 64 characters' }],
    ],
    [
      "a label value in a Workflow's podMetadata",
      { workflow: { spec: { entrypoint: 'main', podMetadata: { labels: { owner: '${option.owner}' } } } } },
      { 'option.owner': 'a b' },
      [{ field: `${T}.workflow.spec.podMetadata.labels.owner`, message: 'label value has characters that are not allowed' }],
    ],
    [
      "a label value in a Workflow template's metadata",
      { workflow: { spec: { entrypoint: 'main', templates: [{ name: 'main', metadata: { labels: { owner: '${option.owner}' } } }] } } },
      { 'option.owner': '-x' },
      [{ field: `${T}.workflow.spec.templates[0].metadata.labels.owner`, message: 'label value has characters that are not allowed' }],
    ],
  ])('rejects %s', (_, template, substitutions, expected) => {
    expect(fieldsAndMessages(validateRun(run(template, substitutions)))).toEqual([]);
    expect(fieldsAndMessages(render(template, substitutions))).toEqual(expected);
  });

  // Each limit: exactly at it passes, one byte over fails.
  const annotated: TaskTemplate = { pod: { metadata: { annotations: { note: '${option.note}' } }, spec: { containers: [main] } } };
  // taskplane adds its own two annotations; the user's fills the rest of the budget.
  const ownAnnotations = Buffer.byteLength('taskplane.dev/parallel-index{"indexNumber":0}argocd.argoproj.io/ignore-healthchecktrue');
  it.each([
    [MAX_ANNOTATIONS_BYTES - ownAnnotations - 'note'.length, 0],
    [MAX_ANNOTATIONS_BYTES - ownAnnotations - 'note'.length + 1, 1],
  ])('annotations of %i bytes (with their keys and taskplane\'s) give %i errors', (bytes, count) => {
    const errors = render(annotated, { 'option.note': 'n'.repeat(bytes) });
    expect(errors).toHaveLength(count);
    if (count) expect(errors[0]).toMatchObject({ field: `${T}.pod.metadata.annotations`, message: `annotations total ${MAX_ANNOTATIONS_BYTES + 1} bytes (keys and values)` });
  });

  it('counts annotation sizes in bytes, not characters', () => {
    const errors = render(annotated, { 'option.note': 'é'.repeat(MAX_ANNOTATIONS_BYTES / 2) });
    expect(fieldsAndMessages(errors)).toEqual([{ field: `${T}.pod.metadata.annotations`, message: expect.stringMatching(/^annotations total 26\d{4} bytes/) }]);
  });

  it('rejects a task object over 1 MiB, naming the value that makes it so', () => {
    const template = pod({ containers: [{ ...main, env: [{ name: 'BIG', value: '${option.big}' }] }] });
    const errors = render(template, { 'option.big': 'b'.repeat(MAX_OBJECT_BYTES) });
    expect(fieldsAndMessages(errors)).toEqual([{ field: `${T}.pod.spec.containers[0].env[0].value`, message: expect.stringMatching(/^the Pod nightly-r1-0-0 is 10\d{5} bytes as JSON; this value alone is 10\d{5} bytes$/) }]);
    expect(render(template, { 'option.big': 'b'.repeat(MAX_OBJECT_BYTES - 1000) })).toEqual([]);
  });
});

describe('objectSizeError', () => {
  it('accepts an object of exactly the limit and names the largest value of a bigger one', () => {
    const padding = (n: number) => ({ a: 'x', b: { c: 'y'.repeat(n) } });
    const base = Buffer.byteLength(JSON.stringify(padding(0)));
    expect(objectSizeError(padding(MAX_OBJECT_BYTES - base), 'JobRun')).toBeUndefined();
    expect(objectSizeError(padding(MAX_OBJECT_BYTES - base + 1), 'JobRun')).toMatchObject({ field: 'b.c', message: `the JobRun is ${MAX_OBJECT_BYTES + 1} bytes as JSON; this value alone is ${MAX_OBJECT_BYTES - base + 3} bytes` });
  });
});

describe("the JobRun's own labels", () => {
  it.each([
    [{ team: 'x'.repeat(64) }, 'metadata.labels.team', 'label value is 64 characters'],
    [{ 'bad key!': 'x' }, 'metadata.labels', 'is not a valid key'],
  ])('rejects %j', (labels, field, message) => {
    expect(fieldsAndMessages(validateRun(run(pod({ containers: [main] }), {}, labels)))).toEqual([{ field, message }]);
  });
});

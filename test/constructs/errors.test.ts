import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  CustomResourceManifest,
  JobConfig,
  Option,
  Parallelism,
  TaskplaneApp,
  TaskTemplate,
  type JobConfigProps,
  type OptionDefinitions,
} from '../../constructs/index.js';
import { readTree, tempOutdir } from '../_synth.js';

const container = { name: 'main', image: 'busybox:1.36', args: ['echo', '${option.env}'] };
const options = {
  env: Option.select({ values: ['dev', 'prod'], default: 'dev' }),
  ticket: Option.string({ required: true }),
  replicas: Option.string({ default: '1' }),
};

/** An app whose output directory already holds a file, so a failed synth can be shown to lose nothing. */
function appWithPreviousOutput() {
  const outdir = tempOutdir();
  mkdirSync(join(outdir, 'jobs'), { recursive: true });
  writeFileSync(join(outdir, 'jobs', 'previous.k8s.yaml'), 'kind: Previous\n');
  const app = new TaskplaneApp({ outdir });
  const chart = new Chart(app, 'jobs', { namespace: 'batch' });
  return { app, chart, outdir };
}

function config<O extends OptionDefinitions>(chart: Chart, props: Partial<JobConfigProps<O>>, id = 'nightly') {
  return new JobConfig<O>(chart, id, { task: TaskTemplate.pod({ spec: { containers: [container] } }), ...props } as JobConfigProps<O>);
}

/** Synthesizes, expecting failure; returns the error message after checking nothing was written. */
function synthError(app: TaskplaneApp, outdir: string): string {
  let message = '';
  try {
    app.synth();
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/^Validation failed with the following errors:/);
  expect([...readTree(outdir).keys()]).toEqual(['jobs/previous.k8s.yaml']);
  return message;
}

describe('bad input stops synth with every problem at once, and writes nothing', () => {
  it.each<[string, (chart: Chart) => void, string[]]>([
    [
      'unknown option name',
      (chart) => config(chart, { options }).run('r1', { options: { ticket: 'T-1', enviroment: 'prod' } as any }),
      ['[jobs/nightly/r1] spec.optionValues.enviroment: unknown option', 'env'],
    ],
    [
      'wrong option value type',
      (chart) => config(chart, { options }).run('r1', { options: { ticket: 42 } as any }),
      ['[jobs/nightly/r1] spec.optionValues.ticket', 'got 42'],
    ],
    [
      'select value not allowed',
      (chart) => config(chart, { options }).run('r1', { options: { ticket: 'T-1', env: 'staging' as any } }),
      ['[jobs/nightly/r1] spec.optionValues.env', '"staging"', 'dev', 'prod'],
    ],
    [
      'required option missing',
      (chart) => config(chart, { options }).run('r1', {} as any),
      ['[jobs/nightly/r1] spec.optionValues.ticket', 'required'],
    ],
    [
      'matrix key with bad characters',
      (chart) => config(chart, { parallelism: Parallelism.withMatrix({ 'Go OS': ['linux'] }) }),
      ['[jobs/nightly] spec.template.parallelism.withMatrix.Go OS: matrix key has characters that are not allowed', '"Go OS"', '[a-z0-9_-]'],
    ],
    ['maxAttempts 0', (chart) => config(chart, { maxAttempts: 0 }), ['[jobs/nightly] spec.template.maxAttempts: must be >= 1 (got 0)']],
    ['maxAttempts 51', (chart) => config(chart, { maxAttempts: 51 }), ['[jobs/nightly] spec.template.maxAttempts: must be <= 50 (got 51)']],
    [
      'unknown ${task.foo}',
      (chart) => config(chart, { task: TaskTemplate.pod({ spec: { containers: [{ ...container, args: ['${task.nmae}'] }] } }) }).run('r1', {}),
      ['[jobs/nightly/r1] spec.template.taskTemplate.pod.spec.containers[0].args[0]: unknown variable ${task.nmae}', 'did you mean ${task.name}'],
    ],
    [
      '${job.uid} in a Rendered run',
      (chart) => config(chart, { task: TaskTemplate.pod({ spec: { containers: [{ ...container, args: ['${job.uid}'] }] } }) }).run('r1', {}),
      ['[jobs/nightly/r1] spec.template.taskTemplate.pod.spec.containers[0].args[0]: ${job.uid} is not available here', 'Deferred'],
    ],
    [
      'substituted label value over 63 characters',
      (chart) =>
        config(chart, {
          options: { ticket: Option.string({ required: true }) },
          task: TaskTemplate.pod({ metadata: { labels: { ticket: '${option.ticket}' } }, spec: { containers: [container] } }),
        }).run('r1', { options: { ticket: 'x'.repeat(64) } }),
      ['[jobs/nightly/r1] spec.template.taskTemplate.pod.metadata.labels.ticket: label value is 64 characters after substitution', 'at most 63'],
    ],
    [
      'customResource manifest without apiVersion and kind',
      (chart) =>
        config(chart, {
          task: TaskTemplate.customResource({
            manifest: CustomResourceManifest.fromObject({ spec: {} }),
            successCondition: 'true',
            failureCondition: 'false',
          }),
        }),
      ['[jobs/nightly] spec.template.taskTemplate.customResource.manifest.apiVersion: is required', 'manifest.kind: is required'],
    ],
    [
      'customResource YAML that does not parse',
      (chart) =>
        config(chart, {
          task: TaskTemplate.customResource({ manifest: CustomResourceManifest.fromYaml('kind: [unclosed'), successCondition: 'true', failureCondition: 'false' }),
        }),
      ['[jobs/nightly] spec.template.taskTemplate.customResource.manifest: YAML does not parse'],
    ],
    [
      'CEL that does not compile',
      (chart) =>
        config(chart, {
          task: TaskTemplate.customResource({
            manifest: CustomResourceManifest.fromObject({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun' }),
            successCondition: 'self.status.phase ==',
            failureCondition: 'false',
          }),
        }),
      ['[jobs/nightly] spec.template.taskTemplate.customResource.successCondition: CEL does not compile'],
    ],
    [
      'restartPolicy Always',
      (chart) => config(chart, { task: TaskTemplate.pod({ spec: { containers: [container], restartPolicy: 'Always' } }) }),
      ['[jobs/nightly] spec.template.taskTemplate.pod.spec.restartPolicy: a task must run to completion (got "Always"); valid: Never'],
    ],
    [
      'reserved substitution name',
      (chart) => config(chart, {}).run('r1', { substitutions: { 'task.name': 'evil' } }),
      ['[jobs/nightly/r1] spec.substitutions.task.name: names in option., job., jobconfig. and task. are reserved'],
    ],
    [
      'run name too long for its task names',
      (chart) => config(chart, {}).run('r1', { name: 'a'.repeat(50) }),
      ['[jobs/nightly/r1] metadata.name: run name must be a DNS label short enough', 'at most 46'],
    ],
  ])('%s', (_name, build, expected) => {
    const { app, chart, outdir } = appWithPreviousOutput();
    build(chart);
    const message = synthError(app, outdir);
    for (const part of expected) expect(message).toContain(part);
  });

  it('lists every problem of every construct in one error', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    config(chart, { maxAttempts: 51, task: TaskTemplate.pod({ spec: { containers: [container], restartPolicy: 'Always' } }) }, 'broken');
    const valid = config(chart, { options }, 'valid');
    valid.run('a', { options: { ticket: 'T-1', env: 'qa' as any } });
    valid.run('b', {} as any);
    const message = synthError(app, outdir);
    const lines = message.split('\n').slice(1);
    expect(lines).toEqual([
      expect.stringContaining('[jobs/broken] spec.template.maxAttempts: must be <= 50'),
      expect.stringContaining('[jobs/broken] spec.template.taskTemplate.pod.spec.restartPolicy'),
      expect.stringContaining('[jobs/valid/a] spec.optionValues.env'),
      expect.stringContaining('[jobs/valid/b] spec.optionValues.ticket'),
    ]);
  });

  it('a valid app replaces the previous output completely', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    config(chart, { options }).run('r1', { options: { ticket: 'T-1' } });
    app.synth();
    expect([...readTree(outdir).keys()]).toEqual(['00-namespaces.k8s.yaml', 'jobs/nightly/jobconfig.k8s.yaml', 'jobs/nightly/runs/nightly-r1.k8s.yaml', 'Kustomization']);
    expect(existsSync(`${outdir}.taskplane-staging-${process.pid}`)).toBe(false);
  });
});

describe('objects that would overwrite each other in the cluster', () => {
  it('two runs whose task names coincide stop synth', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    // Run `a` with key `b-c` and run `a-b` with key `c` both name their task `a-b-c-0`.
    const keyed = (id: string, key: string) =>
      new JobConfig(chart, id, { name: id, parallelism: Parallelism.withKeys([key]), task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox' }] } }) });
    keyed('first', 'b-c').run('r', { name: 'a' });
    keyed('second', 'c').run('r', { name: 'a-b' });
    const message = synthError(app, outdir);
    expect(message).toContain('[jobs/second/r/a-b-c-0] v1/Pod batch/a-b-c-0 is also produced by jobs/first/r/a-b-c-0');
  });
});

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  CustomResourceManifest,
  JobConfig,
  Option,
  Parallelism,
  TaskplaneApp,
  TaskplaneCrds,
  TaskTemplate,
  type JobConfigProps,
  type OptionDefinitions,
} from '../../constructs/index.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';

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
      ['[jobs/nightly/r1] spec.template.taskTemplate.pod.metadata.labels.ticket: label value is 64 characters', 'at most 63'],
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
      ['[jobs/nightly/r1] spec.substitutions["task.name"]: names in option., job., jobconfig. and task. are reserved'],
    ],
    [
      'run name too long for its task names',
      (chart) => config(chart, {}).run('r1', { name: 'a'.repeat(50) }),
      ['[jobs/nightly/r1] metadata.name: run name must be a DNS label short enough', 'at most 46'],
    ],
    // The API server's rules (issue 10, class 2 and 5).
    [
      'a container without an image',
      (chart) => config(chart, { task: TaskTemplate.pod({ spec: { containers: [{ name: 'main' }] } }) }),
      ['[jobs/nightly] spec.template.taskTemplate.pod.spec.containers[0].image: a container needs an image', 'valid: an image reference'],
    ],
    [
      'a JobConfig label value the API server refuses',
      (chart) => config(chart, { labels: { team: 'data science' } }),
      ['[jobs/nightly] metadata.labels.team: label value has characters that are not allowed (got "data science")'],
    ],
    [
      'a namespace the API server refuses',
      (chart) => config(chart, { namespace: 'Batch_Jobs' }),
      ['[jobs/nightly] metadata.namespace: is not a valid namespace name (got "Batch_Jobs")'],
    ],
    [
      'a JobRun over 1 MiB',
      (chart) => config(chart, { options }).run('r1', { options: { ticket: 'T-1', replicas: 'x'.repeat(1_100_000) } }),
      ['[jobs/nightly/r1] spec.substitutions["option.replicas"]: the JobRun is 110', 'at most 1048576 bytes (1 MiB) per object'],
    ],
    [
      'an invalid Date as an option value',
      (chart) => config(chart, { options: { at: Option.date() } }).run('r1', { options: { at: new Date('2026-13-45') } }),
      ['[jobs/nightly/r1] spec.optionValues.at: invalid Date (got "Invalid Date")'],
    ],
    [
      'an invalid Date as startAfter and killAt',
      (chart) => config(chart, {}).run('r1', { startAfter: new Date('nope'), killAt: new Date(Number.NaN) }),
      ['[jobs/nightly/r1] spec.startAfter: invalid Date', '[jobs/nightly/r1] spec.killTimestamp: invalid Date'],
    ],
    // Keys that are JavaScript's own (class 3): cdk8s crashes on or drops them, so they are named.
    [
      'a substitution named constructor',
      (chart) => config(chart, {}).run('r1', { substitutions: { constructor: 'x' } as any }),
      ['[jobs/nightly/r1] spec.substitutions.constructor: cdk8s cannot write a key named "constructor"'],
    ],
    [
      'a matrix key __proto__',
      (chart) => config(chart, { parallelism: Parallelism.withMatrix(Object.fromEntries([['__proto__', ['a']]])) }),
      ['[jobs/nightly] spec.template.parallelism.withMatrix.__proto__: cdk8s cannot write a key named "__proto__"'],
    ],
    [
      'a bool option named constructor (its value is stored by name)',
      (chart) => config(chart, { options: { constructor: Option.bool({ default: false }) } as any }).run('r1', { options: { constructor: true } as any }),
      ['[jobs/nightly/r1] spec.optionValues.constructor: cdk8s cannot write a key named "constructor"'],
    ],
    // The default run name of a long JobConfig name (class 8).
    [
      'a JobConfig name too long for a default run name',
      (chart) => config(chart, { name: 'c'.repeat(45) }).run('r', {}),
      ['[jobs/nightly/r] metadata.name: the default run name "<config>-<id>" is 47 characters; a JobConfig name over 44 characters leaves no room for it', 'valid: a run `name` of at most 46 characters'],
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

  it('reports a bad option value and the unknown variables of the template in the same synth', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    const broken = TaskTemplate.pod({ spec: { containers: [{ ...container, args: ['${option.ticket}', '${option.tikcet}'] }] } });
    config(chart, { options, task: broken }).run('r1', { options: { ticket: 42, enviroment: 'prod' } as any });
    // The bad ticket is reported once: not again as an unknown ${option.ticket}.
    expect(synthError(app, outdir).split('\n').slice(1)).toEqual([
      expect.stringContaining('[jobs/nightly/r1] spec.optionValues.ticket: expected string, got number'),
      expect.stringContaining('[jobs/nightly/r1] spec.optionValues.enviroment: unknown option'),
      expect.stringContaining('[jobs/nightly/r1] spec.template.taskTemplate.pod.spec.containers[0].args[1]: unknown variable ${option.tikcet}'),
    ]);
  });

  it("reports a JobConfig's own problems once, not again for each run", () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    const env = Option.select({ values: ['dev', 'prod'], default: 'qa' as any });
    const nightly = config(chart, { options: { env } });
    nightly.run('a', {});
    nightly.run('b', { options: { env: 'staging' as any } });
    expect(synthError(app, outdir).split('\n').slice(1)).toEqual([
      expect.stringContaining('[jobs/nightly] spec.options[0].select.default: default is not one of the values (got "qa")'),
      expect.stringContaining('[jobs/nightly/b] spec.optionValues.env: unsupported value (got "staging")'),
    ]);
  });

  it('accepts JavaScript-own names where cdk8s can write them', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    const args = ['${option.constructor}', '${toString}', '${task.index_key}'];
    const nightly = config(chart, { options: { constructor: Option.string() } as any, parallelism: Parallelism.withKeys(['constructor', '__proto__']), task: TaskTemplate.pod({ spec: { containers: [{ ...container, args }] } }) });
    nightly.run('r1', { options: { constructor: 'c' } as any, substitutions: { toString: 't' } });
    app.synth();
    const run = readTree(outdir).get('jobs/nightly/runs/nightly-r1.k8s.yaml')!;
    expect(run).toContain('- c\n        - t\n        - constructor\n');
    expect(run).toContain('- c\n        - t\n        - __proto__\n');
  });

  it('Option.multiOrCustom accepts values outside its list', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    const tables = Option.multiOrCustom({ values: ['users', 'orders'], delimiter: ',' });
    const task = TaskTemplate.pod({ spec: { containers: [{ ...container, args: ['${option.tables}'] }] } });
    const run = config(chart, { options: { tables }, task }).run('r1', { options: { tables: ['users', 'audit_log'] } });
    app.synth();
    expect(run.object.spec.substitutions['option.tables']).toBe('users,audit_log');
    expect(readTree(outdir).get('jobs/nightly/runs/nightly-r1.k8s.yaml')).toContain('- users,audit_log');
  });

  it('a valid app replaces the previous output completely', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    config(chart, { options }).run('r1', { options: { ticket: 'T-1' } });
    app.synth();
    expect([...readTree(outdir).keys()]).toEqual(['00-setup/00-namespaces.k8s.yaml', 'jobs/nightly/jobconfig.k8s.yaml', 'jobs/nightly/runs/nightly-r1.k8s.yaml', 'Kustomization']);
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

describe('under a plain cdk8s App (what `cdk8s init` generates), taskplane still speaks for itself', () => {
  function plainApp() {
    const app = new App({ outdir: tempOutdir() });
    return { app, chart: new Chart(app, 'jobs', { namespace: 'batch' }) };
  }
  const synthMessage = (app: App) => {
    try {
      app.synth();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('synth succeeded');
  };

  it('a run id used twice is reported with the fix, with every other problem', () => {
    const { app, chart } = plainApp();
    const nightly = config(chart, { options });
    nightly.run('r1', { options: { ticket: 'T-1' } });
    nightly.run('r1', { options: { ticket: 'T-2' } });
    nightly.run('r2', { options: { ticket: 42 } as any });
    const message = synthMessage(app);
    expect(message).toContain('[jobs/nightly] run: run id "r1" is already taken in this JobConfig (got "r1"); valid: a distinct id per run');
    expect(message).toContain('[jobs/nightly/r2] spec.optionValues.ticket: expected string, got number');
    expect(message).not.toContain('There is already a Construct');
  });

  it('a string YAML 1.2 readers would take for a number is an error that points to TaskplaneApp', () => {
    const { app, chart } = plainApp();
    config(chart, { options }).run('r1', { options: { ticket: '0o17' } });
    expect(synthMessage(app)).toContain('[jobs/nightly/r1] spec.substitutions["option.ticket"]: cdk8s writes this string unquoted, and YAML readers disagree on it');
  });

  it('so is one that only substitution forms, in the task that holds it', () => {
    const { app, chart } = plainApp();
    const task = TaskTemplate.pod({ spec: { containers: [{ ...container, args: ['${option.ticket}${option.replicas}'] }] } });
    config(chart, { options, task }).run('r1', { options: { ticket: '0', replicas: 'o17' } });
    expect(synthMessage(app)).toContain('[jobs/nightly/r1] spec.template.taskTemplate.pod.spec.containers[0].args[0]: cdk8s writes this string unquoted');
  });

  it('TaskplaneApp writes such a string quoted instead', () => {
    const { app, chart, outdir } = appWithPreviousOutput();
    config(chart, { options }).run('r1', { options: { ticket: '0o17' } });
    app.synth();
    const text = readTree(outdir).get('jobs/nightly/runs/nightly-r1.k8s.yaml')!;
    expect(text).toContain('option.ticket: "0o17"');
    expect(parseDocuments(text)[0].spec.substitutions['option.ticket']).toBe('0o17');
  });
});

describe('objects defined twice outside any run', () => {
  it.each([['TaskplaneApp', () => new TaskplaneApp({ outdir: tempOutdir() })], ['a plain cdk8s App', () => new App({ outdir: tempOutdir() })]])(
    'CRDs twice under %s: define them once, not rename a run',
    (_name, makeApp) => {
      const app = makeApp();
      new TaskplaneCrds(new Chart(app, 'a'), 'crds');
      new TaskplaneCrds(new Chart(app, 'b'), 'crds');
      expect(() => app.synth()).toThrow('[b/crds] the taskplane CRDs are already defined by a/crds; define them once per app');
      expect(readTree(app.outdir).size).toBe(0);
    },
  );

  it('TaskplaneApp: any other object twice says to define it once, not to rename a run', () => {
    const { app, outdir } = appWithPreviousOutput();
    for (const chart of ['a', 'b']) new ApiObject(new Chart(app, chart), 'config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: 'batch' } });
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('[b/config] v1/ConfigMap batch/shared is also produced by a/config; define it once');
    expect(message).not.toContain('give one of the runs');
    expect([...readTree(outdir).keys()]).toEqual(['jobs/previous.k8s.yaml']);
  });
});

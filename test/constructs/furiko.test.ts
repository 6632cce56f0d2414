import { readdirSync, readFileSync } from 'node:fs';
import { ApiObject, Chart, Duration } from 'cdk8s';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  Concurrency,
  JobConfig,
  Option,
  Parallelism,
  Schedule,
  TaskplaneApp,
  TaskTemplate,
  type JobConfigProps,
  type OptionDefinitions,
} from '../../constructs/index.js';
import { parseDocuments, readTree, synthFailure, tempOutdir } from '../_synth.js';

const FIXTURES = new URL('../fixtures/furiko/', import.meta.url);
const examples = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort();
const read = (file: string) => readFileSync(new URL(file, FIXTURES), 'utf8');

const newChart = () => new Chart(new TaskplaneApp({ outdir: tempOutdir() }), 'jobs');


describe('Furiko JobConfigs round trip through taskplane', () => {
  it('has the examples', () => {
    expect(examples).toEqual([
      '10-hello.yaml',
      '20-cron-schedule.yaml',
      '22-multi-cron-expression.yaml',
      '30-context-variables.yaml',
      '31-job-options.yaml',
      '40-parallel-matrix.yaml',
      '41-parallel-keys.yaml',
      '42-parallel-count.yaml',
    ]);
  });

  it.each(examples)('%s: toFuriko(fromFuriko(x)) is x, and the taskplane JobConfig synthesizes', (file) => {
    const chart = newChart();
    const config = JobConfig.fromFuriko(chart, 'imported', read(file));
    expect(config.toFuriko()).toEqual(parse(read(file)));
    const app = chart.node.root as TaskplaneApp;
    app.synth();
    const [synthesized] = parseDocuments(readTree(app.outdir).get(`jobs/${config.name}/jobconfig.k8s.yaml`)!);
    expect(synthesized.metadata.name).toBe(parse(read(file)).metadata.name);
  });

  it('maps fields to typed taskplane props: spec.option.options → options, spec.template.spec.* → the template', () => {
    const config = JobConfig.fromFuriko(newChart(), 'imported', read('40-parallel-matrix.yaml'));
    expect({ name: config.name, namespace: config.namespace, labels: config._labels }).toEqual({ name: 'parallel-matrix', namespace: 'builds', labels: { team: 'release' } });
    expect(config._spec.template).toMatchObject({
      parallelism: { withMatrix: { goos: ['linux', 'darwin'], goarch: ['amd64', 'arm64'] }, completionStrategy: 'AnySuccessful' },
      maxAttempts: 3,
      retryDelaySeconds: 0,
      taskPendingTimeoutSeconds: 0,
    });
    const options = JobConfig.fromFuriko(newChart(), 'imported', read('31-job-options.yaml'))._spec.options!;
    expect(options.map((o) => `${o.type} ${o.name}`)).toEqual([
      'String customer_id', 'Select refund_type', 'Select reason_code', 'Bool dry_run', 'Bool notify', 'Bool verbose', 'Multi channels', 'Multi regions', 'Date as_of', 'Date refund_after',
    ]);
  });

  it("keeps Furiko's substitution: text outside image/command/args/env stays literal, `$${` in an env value stays `$${`", () => {
    const chart = newChart();
    const config = JobConfig.fromFuriko(chart, 'imported', read('30-context-variables.yaml'));
    const pod = config._spec.template.taskTemplate.pod!;
    expect(pod.metadata!.annotations!['example.com/literal']).toBe('$${task.name}');
    expect((pod.spec as { containers: { workingDir: string; env: { value: string }[] }[] }).containers[0]!.workingDir).toBe('/work/$${job.name}');
    expect((pod.spec as { containers: { env: { value: string }[] }[] }).containers[0]!.env[1]!.value).toBe('$$${HOME}');
  });

  it('an imported JobConfig renders runs as Furiko would render its Jobs', () => {
    const chart = new Chart(new TaskplaneApp({ outdir: tempOutdir() }), 'jobs', { namespace: 'batch' });
    const yaml = read('30-context-variables.yaml').replace('value: "${job.uid}"', 'value: "${job.max_attempts}"');
    JobConfig.fromFuriko(chart, 'imported', yaml).run('r1', { options: { alpine_version: '3.21' } });
    const app = chart.node.root as TaskplaneApp;
    app.synth();
    const [, pod] = parseDocuments(readTree(app.outdir).get('jobs/context-variables/runs/context-variables-r1.k8s.yaml')!);
    expect(pod.metadata.annotations['example.com/literal']).toBe('${task.name}');
    expect(pod.spec.initContainers[0]).toMatchObject({ image: 'alpine:3.21', command: ['echo', 'context-variables/batch'] });
    expect(pod.spec.containers[0]).toMatchObject({
      workingDir: '/work/${job.name}',
      args: ['sh', '-c', 'echo "${HOME} context-variables-r1 batch Adhoc context-variables-r1-0-0 0 0"'],
      env: [{ name: 'JOB_UID', value: '1' }, { name: 'PRICE', value: '$${HOME}' }],
    });
  });

  it("fills in Furiko's defaults (Bool format, maxConcurrency 1, an empty string block) and forbids force deletion, as taskplane never force-deletes", () => {
    const minimal = {
      apiVersion: 'execution.furiko.io/v1alpha1',
      kind: 'JobConfig',
      metadata: { name: 'minimal' },
      spec: {
        concurrency: { policy: 'Forbid' },
        option: { options: [{ type: 'String', name: 'id', required: true }, { type: 'Bool', name: 'dry', bool: { default: false } }] },
        template: { spec: { taskTemplate: { pod: { spec: { containers: [{ name: 'c', image: 'alpine' }] } } } } },
      },
    };
    const written = JobConfig.fromFuriko(newChart(), 'minimal', minimal).toFuriko() as typeof minimal;
    expect(written.spec.option.options).toEqual([{ type: 'String', name: 'id', required: true, string: {} }, { type: 'Bool', name: 'dry', bool: { default: false, format: 'TrueFalse' } }]);
    expect(written.spec.template.spec).toEqual({ ...minimal.spec.template.spec, forbidTaskForceDeletion: true });
    expect(written.spec.concurrency).toEqual({ policy: 'Forbid', maxConcurrency: 1 });
  });

  it("docs/synth.md's example: an imported JobConfig runs with typed options, and its Furiko form synthesizes next to it", () => {
    const chart = new Chart(new TaskplaneApp({ outdir: tempOutdir() }), 'jobs');
    const imported = JobConfig.fromFuriko(chart, 'refunds', read('31-job-options.yaml'));
    imported.run('c-42', { options: { customer_id: ' c-42 ', regions: ['eu'], refund_after: '2026-11-30T00:00:00Z' } });
    new ApiObject(chart, 'refunds-for-furiko', imported.toFuriko());
    const app = chart.node.root as TaskplaneApp;
    app.synth();
    const files = readTree(app.outdir);
    const [, pod] = parseDocuments(files.get('jobs/adhoc-refund/runs/adhoc-refund-c-42.k8s.yaml')!);
    expect(pod.spec.containers[0].command[2]).toBe(
      'echo "refund c-42 (immediate, ) dry=n"\necho "notify=yes verbose=0 via email in eu"\necho "as of , after 2026-11-30T00:00:00+00:00"\n',
    );
    expect(parseDocuments(files.get('jobs.k8s.yaml')!)).toEqual([parse(read('31-job-options.yaml'))]);
  });

  it('a taskplane JobConfig round trips through Furiko: the same spec and labels', () => {
    const props: JobConfigProps<OptionDefinitions> = {
      namespace: 'batch',
      labels: { team: 'data' },
      options: { env: Option.select({ values: ['dev', 'prod'], default: 'dev' }), day: Option.date({ format: 'YYYY-MM-DD' }) },
      parallelism: Parallelism.withKeys(['a', 'b']),
      maxAttempts: 3,
      retryDelay: Duration.seconds(30),
      pendingTimeout: Duration.minutes(5),
      concurrency: Concurrency.enqueue(2),
      schedule: Schedule.cron('H 2 * * *', { timezone: 'Europe/Berlin', notBefore: new Date(Date.UTC(2026, 0, 1)) }),
      task: TaskTemplate.pod({
        metadata: { annotations: { note: 'literal $${option.env}' } },
        spec: { containers: [{ name: 'main', image: 'alpine', args: ['--env=${option.env}', '--day=${option.day}', '--shard=${task.index_key}'] }] },
      }),
    };
    const original = new JobConfig(newChart(), 'export', props);
    const back = JobConfig.fromFuriko(newChart(), 'export', original.toFuriko());
    expect(back._spec).toEqual(original._spec);
    expect([back.name, back.namespace, back._labels]).toEqual([original.name, original.namespace, original._labels]);
  });
});

describe('what taskplane cannot express is an error, all at once', () => {
  it('on import: every field with its Furiko path, at synth with the construct path, nothing written', () => {
    const chart = newChart();
    const yaml = `
apiVersion: execution.furiko.io/v1alpha1
kind: JobConfig
metadata:
  name: unsupported
  annotations: { owner: team-a }
  labels: { team: a }
spec:
  concurrency: { policy: Allow, maxConcurrency: 2 }
  option:
    options:
      - { type: Select, name: env, select: { values: [dev], default: prod } }
  schedule:
    cron: { expresion: "0 * * * *" }
  template:
    metadata:
      labels: { team: b }
      annotations: { group: cool }
    spec:
      maxAttempts: 51
      taskTemplate:
        pod:
          spec:
            containers:
              - name: c
                image: alpine
                args: ["cost: $\${option.env}"]
`;
    JobConfig.fromFuriko(chart, 'imported', yaml);
    expect(synthFailure(chart.node.root as TaskplaneApp).split('\n')).toEqual([
      'Validation failed with the following errors:',
      '  [jobs/imported] furiko metadata.annotations: taskplane cannot express this field (got {"owner":"team-a"}); valid: taskplane JobConfigs carry only labels; put the information in a label or drop it',
      '  [jobs/imported] furiko spec.template.metadata.annotations: taskplane cannot express this field (got {"group":"cool"}); valid: taskplane runs carry no annotations of the config; put them on the task template (taskTemplate.pod.metadata) or in labels',
      '  [jobs/imported] furiko spec.template.spec.taskTemplate.pod.spec.containers[0].args[0]: Furiko renders a "$" then the variable here; in taskplane "$${" is a literal "${" (got "cost: $${option.env}"); valid: a character between "$" and "${"',
      '  [jobs/imported] furiko spec.schedule.cron.expresion: is not a field of a Furiko JobConfig (got "expresion"); valid: did you mean expression, expressions?',
      '  [jobs/imported] furiko spec.template.metadata.labels.team: differs from metadata.labels ("a"); taskplane puts one set of labels on the JobConfig and its runs (got "b"); valid: the same value in both, or the label in one place',
      '  [jobs/imported] furiko spec.template.spec.maxAttempts: must be <= 50 (got 51)',
      '  [jobs/imported] furiko spec.option.options[0].select.default: default is not one of the values (got "prod"); valid: one of: dev',
      '  [jobs/imported] furiko spec.concurrency.maxConcurrency: cannot be set with policy Allow (got 2); valid: policy Forbid or Enqueue',
      '  [jobs/imported] furiko spec.schedule.cron.expression: is required; valid: a cron expression such as "H 2 * * *", or a non-empty expressions list',
      expect.stringMatching(/^ {2}\[jobs\/imported\] furiko spec\.option\.options\[0\]: option "env" is required and has no default, but scheduled runs/),
    ]);
    expect(readdirSync((chart.node.root as TaskplaneApp).outdir)).toEqual([]);
  });

  it.each([
    ['not YAML', 'spec: [', /^furiko: YAML does not parse: /],
    ['two documents', 'a: 1\n---\nb: 2\n', /^furiko: holds 2 documents; valid: one Furiko JobConfig document$/],
    ['a Furiko Job, not a JobConfig', 'apiVersion: execution.furiko.io/v1alpha1\nkind: Job\nmetadata: {name: j}\nspec: {}\n', /^furiko apiVersion: is not a Furiko JobConfig \(got "execution.furiko.io\/v1alpha1 Job"\)/],
    ['an executor Furiko never had', 'apiVersion: execution.furiko.io/v1alpha1\nkind: JobConfig\nmetadata: {name: j}\nspec:\n  concurrency: {policy: Allow}\n  template: {spec: {taskTemplate: {argoWorkflow: {}}}}\n', /^furiko spec\.template\.spec\.taskTemplate\.argoWorkflow: taskplane cannot express this field \(got \{\}\); valid: Furiko's executor is pod/],
  ])('on import: %s', (_, source, message) => {
    const chart = newChart();
    JobConfig.fromFuriko(chart, 'imported', source);
    const lines = synthFailure(chart.node.root as TaskplaneApp).split('\n').slice(1).map((l) => l.replace('  [jobs/imported] ', ''));
    expect(lines.some((l) => message.test(l)), lines.join('\n')).toBe(true);
  });

  it('on export: every field Furiko cannot express, as one ValidationError', () => {
    const config = new JobConfig(newChart(), 'too-much', {
      allowCustomTemplates: true,
      taskTimeout: Duration.minutes(5),
      schedule: Schedule.cron('@daily', { keepSucceeded: 5 }),
      task: TaskTemplate.pod({
        metadata: { labels: { shard: '${task.index_num}' } },
        spec: { containers: [{ name: 'main', image: 'alpine', args: ['price $${option.x}'] }] },
      }),
    });
    expect(() => config.toFuriko()).toThrow(
      [
        'jobs/too-much as a Furiko JobConfig is invalid:',
        '  - spec.template.taskTimeoutSeconds: Furiko has no task timeout (got 300); valid: no taskTimeout; the pod spec\'s activeDeadlineSeconds is the nearest (it counts from the Pod\'s start, pending time included)',
        '  - spec.schedule.history: Furiko keeps no run history limit (its Jobs expire by ttlSecondsAfterFinished) (got {"succeeded":5}); valid: no keepSucceeded / keepFailed',
        '  - spec.allowCustomTemplates: a Furiko Job created from a JobConfig always gets the config\'s template (got true); valid: false (a Furiko Job without configName may carry any template)',
        '  - spec.template.taskTemplate.pod.metadata.labels.shard: Furiko substitutes variables only in containers\' image, command, args and env values; here it would stay text (got "${task.index_num}"); valid: a variable in a container image, command, args or env value, or text without one',
        '  - spec.template.taskTemplate.pod.spec.containers[0].args[0]: Furiko has no escape: it would substitute this literal "${" (got "price $${option.x}"); valid: a variable in a container image, command, args or env value, or text without one',
      ].join('\n'),
    );
  });

  it('on export: a JobConfig with problems of its own, or imported with errors, is not written', () => {
    const imported = JobConfig.fromFuriko(newChart(), 'imported', read('10-hello.yaml').replace('spec:\n  concurrency', 'spec:\n  concurency'));
    expect(() => imported.toFuriko()).toThrow(
      [
        'jobs/imported as a Furiko JobConfig is invalid:',
        '  - furiko spec.concurency: is not a field of a Furiko JobConfig (got "concurency"); valid: did you mean concurrency?',
        '  - furiko spec.concurrency: is required',
      ].join('\n'),
    );
    const invalid = new JobConfig(newChart(), 'invalid', { maxAttempts: 0, task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'alpine' }] } }) });
    expect(() => invalid.toFuriko()).toThrow('jobs/invalid as a Furiko JobConfig is invalid:\n  - spec.template.maxAttempts: must be >= 1 (got 0)');
  });

  it('on export: a name over 49 characters (Furiko appends -<unix time> for scheduled Jobs)', () => {
    const name = 'a-name-that-is-longer-than-furikos-forty-nine-chars';
    const config = new JobConfig(newChart(), name, { task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'alpine' }] } }) });
    expect(() => config.toFuriko()).toThrow(`metadata.name: is longer than Furiko allows for a JobConfig (49: it appends -<unix time> for scheduled Jobs) (got "${name}"); valid: at most 49 characters`);
  });

  it('on export: executors other than pod', () => {
    const config = new JobConfig(newChart(), 'batch-job', { task: TaskTemplate.job({ spec: { template: { spec: { containers: [{ name: 'main', image: 'alpine' }] } } } }) });
    expect(() => config.toFuriko()).toThrow('spec.template.taskTemplate.job: Furiko\'s only executor is pod (got "job"); valid: TaskTemplate.pod(...)');
  });
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, Duration } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { helloWorldSpec } from '../../apps/jobs/colonies-hello.js';
import { Concurrency, JobConfig, Option, TaskplaneApp } from '../../constructs/index.js';
import { parseDocuments, readTree, synthFailure, tempOutdir } from '../_synth.js';

function app() {
  const outdir = tempOutdir();
  mkdirSync(join(outdir, 'jobs'), { recursive: true });
  writeFileSync(join(outdir, 'jobs', 'previous.k8s.yaml'), 'kind: Previous\n');
  const a = new TaskplaneApp({ outdir });
  return { app: a, chart: new Chart(a, 'jobs', { namespace: 'hpc' }), outdir };
}


describe('JobConfig.fromFunctionSpec', () => {
  it('takes the rest of a JobConfig from props (options, concurrency, pending timeout) next to the spec', () => {
    const { app: a, chart } = app();
    const config = JobConfig.fromFunctionSpec(chart, 'hello', { ...helloWorldSpec, kwargs: { ...helloWorldSpec.kwargs, args: ['Hello, ${option.who}!'] } }, {
      options: { who: Option.string({ default: 'World' }) },
      concurrency: Concurrency.forbid(),
      pendingTimeout: Duration.minutes(5),
    });
    config.run('r1', { options: { who: 'Colonies' } });
    a.synth();
    const [, job] = parseDocuments(readTree(a.outdir).get('jobs/hello/runs/hello-r1.k8s.yaml')!);
    expect(job.spec.template.spec.containers.map((c: { args: string[] }) => c.args)).toEqual([['Hello, Colonies!'], ['Hello, Colonies!']]);
    const [spec] = parseDocuments(readTree(a.outdir).get('jobs/hello/jobconfig.k8s.yaml')!).map((d) => d.spec);
    expect(spec).toMatchObject({ concurrency: { policy: 'Forbid', maxConcurrency: 1 }, template: { maxAttempts: 4, taskTimeoutSeconds: 80, taskPendingTimeoutSeconds: 300 } });
  });

  it('reports every problem of the spec with the construct path, and writes nothing', () => {
    const { app: a, chart, outdir } = app();
    JobConfig.fromFunctionSpec(chart, 'bad', { ...helloWorldSpec, maxexectime: 120, conditions: { ...helloWorldSpec.conditions, gpu: { count: 1 } } });
    expect(synthFailure(a)).toBe(
      [
        'Validation failed with the following errors:',
        '  [jobs/bad] functionSpec.conditions.gpu: taskplane cannot express this field (got {"count":1}); valid: request GPUs (e.g. nvidia.com/gpu limits) in a TaskTemplate.job instead',
        '  [jobs/bad] functionSpec.conditions.walltime: must be greater than maxexectime (120): the Job would be removed before the process times out (got 90); valid: more than 120 seconds',
      ].join('\n'),
    );
    expect([...readTree(outdir).keys()]).toEqual(['jobs/previous.k8s.yaml']);
  });
});

import { describe, expect, it } from 'vitest';
import { helloWorldSpec } from '../../apps/jobs/colonies-hello.js';
import { formatFieldError } from '../../engine/errors.js';
import { mapFunctionSpec } from '../../engine/interop/colonies.js';

const base = { kwargs: { 'docker-image': 'busybox', cmd: 'echo', args: ['hi'] } };
const messages = (spec: unknown) => mapFunctionSpec(spec).errors.map(formatFieldError);

describe('mapFunctionSpec: a Colonies function spec onto a batch Job', () => {
  it("maps the seed's example: nodes → completions = parallelism (Indexed), processes → containers, mem/cpu → resources, walltime → activeDeadlineSeconds", () => {
    const { mapping, errors } = mapFunctionSpec(helloWorldSpec);
    expect(errors).toEqual([]);
    const container = (name: string) => ({
      name,
      image: 'busybox',
      command: ['echo'],
      args: ['Hello, World!'],
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '500m', memory: '1Gi' } },
    });
    expect(mapping).toEqual({
      jobSpec: {
        completions: 2,
        parallelism: 2,
        completionMode: 'Indexed',
        activeDeadlineSeconds: 90,
        template: { spec: { containers: [container('process-0'), container('process-1')] } },
      },
      maxAttempts: 4,
      taskTimeoutSeconds: 80,
    });
  });

  it.each([
    ['no conditions: one node, one process, no limits, no retries', {}, { completions: 1, containers: 1, maxAttempts: 1, timeout: undefined, deadline: undefined }],
    ["Colonies' Go spelling processespernode", { conditions: { processespernode: 3 } }, { completions: 1, containers: 3, maxAttempts: 1, timeout: undefined, deadline: undefined }],
    ['maxexectime -1 and 0 walltime: no limits', { maxexectime: -1, conditions: { walltime: 0, nodes: 4 } }, { completions: 4, containers: 1, maxAttempts: 1, timeout: undefined, deadline: undefined }],
    ['maxretries 49: the 50-attempt cap', { maxretries: 49, maxexectime: 10, conditions: { walltime: 11 } }, { completions: 1, containers: 1, maxAttempts: 50, timeout: 10, deadline: 11 }],
  ])('%s', (_, extra, want) => {
    const { mapping, errors } = mapFunctionSpec({ ...base, ...extra });
    expect(errors).toEqual([]);
    const job = mapping!.jobSpec as { completions: number; activeDeadlineSeconds?: number; template: { spec: { containers: unknown[] } } };
    expect({
      completions: job.completions,
      containers: job.template.spec.containers.length,
      maxAttempts: mapping!.maxAttempts,
      timeout: mapping!.taskTimeoutSeconds,
      deadline: job.activeDeadlineSeconds,
    }).toEqual(want);
  });

  it('replaces {processid} with the run name and gives env to every container', () => {
    const { mapping } = mapFunctionSpec({ kwargs: { 'docker-image': 'busybox', cmd: 'run-{processid}', args: ['--id={processid}'] }, env: { MODE: 'fast' }, conditions: { processespernode: 2 } });
    const containers = (mapping!.jobSpec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers;
    for (const c of containers) expect(c).toMatchObject({ command: ['run-${job.name}'], args: ['--id=${job.name}'], env: [{ name: 'MODE', value: 'fast' }] });
  });

  it.each([
    ['walltime equal to maxexectime', { maxexectime: 90, conditions: { walltime: 90 } }, 'functionSpec.conditions.walltime: must be greater than maxexectime (90): the Job would be removed before the process times out (got 90); valid: more than 90 seconds'],
    ['walltime below maxexectime', { maxexectime: 80, conditions: { walltime: 60 } }, 'functionSpec.conditions.walltime: must be greater than maxexectime (80): the Job would be removed before the process times out (got 60); valid: more than 80 seconds'],
    ['maxretries over the cap', { maxretries: 50 }, 'functionSpec.maxretries: must be a whole number of retries taskplane can make (got 50); valid: 0 to 49 (maxAttempts is at most 50)'],
    ['a cpu that is no quantity', { conditions: { cpu: 'half' } }, 'functionSpec.conditions.cpu: is not a Kubernetes quantity (got "half"); valid: e.g. "500m" or "2"'],
    ['another executor type', { conditions: { executortype: 'hpcexecutor' } }, 'functionSpec.conditions.executortype: taskplane runs what the KubeExecutor runs (got "hpcexecutor"); valid: "kubeexecutor"'],
    ['a GPU', { conditions: { gpu: { name: 'a100', count: 1 } } }, 'functionSpec.conditions.gpu: taskplane cannot express this field (got {"name":"a100","count":1}); valid: request GPUs (e.g. nvidia.com/gpu limits) in a TaskTemplate.job instead'],
    ['a misspelt field', { maxretires: 3 }, 'functionSpec.maxretires: is not a field of a KubeExecutor function spec (got "maxretires"); valid: did you mean maxretries?'],
    ['the two spellings disagreeing', { conditions: { 'processes-per-node': 2, processespernode: 3 } }, 'functionSpec.conditions.processespernode: disagrees with processes-per-node (two spellings of one field) (got 3); valid: 2, or only one of the two'],
  ])('rejects %s', (_, extra, message) => {
    expect(messages({ ...base, ...extra, conditions: { ...(extra as { conditions?: object }).conditions } })).toEqual([message]);
  });

  it('accepts the zero values Go writes for unset fields (a spec dumped by the colonies CLI)', () => {
    const dumped = { ...base, nodename: '', priority: 0, maxwaittime: 0, label: '', args: [], fs: { mount: '', snapshots: null, dirs: null }, conditions: { colonyname: '', executornames: null, dependencies: [], gpu: { name: '', count: 0 } } };
    expect(messages(dumped)).toEqual([]);
  });

  it('reports every problem at once', () => {
    const bad = { kwargs: { cmd: 3, args: 'hi' }, maxexectime: 80, maxretries: -1, priority: 5, conditions: { walltime: 30, nodes: 0.5, mem: '1 GB' } };
    expect(messages(bad)).toEqual([
      'functionSpec.priority: taskplane cannot express this field (got 5); valid: taskplane runs have no priority; use Concurrency.enqueue() to order runs',
      'functionSpec.conditions.nodes: must be a whole number of Pods per attempt (got 0.5); valid: 1 to 1000',
      'functionSpec.conditions.mem: is not a Kubernetes quantity (got "1 GB"); valid: e.g. "1Gi" or "512Mi"',
      'functionSpec.conditions.walltime: must be greater than maxexectime (80): the Job would be removed before the process times out (got 30); valid: more than 80 seconds',
      'functionSpec.maxretries: must be a whole number of retries taskplane can make (got -1); valid: 0 to 49 (maxAttempts is at most 50)',
      'functionSpec.kwargs.docker-image: is required: the container image; valid: an image reference, e.g. "busybox"',
      'functionSpec.kwargs.cmd: must be a string (got 3); valid: the command, e.g. "echo"',
      'functionSpec.kwargs.args: must be a list of strings (got "hi"); valid: e.g. ["Hello, World!"]',
    ]);
  });
});

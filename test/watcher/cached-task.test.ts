/**
 * The task caches keep a trimmed Pod or Job (watcher/cached-task.ts). Over a corpus of live objects,
 * as the API server returns them, covering every branch of the executors' observe and kill halves:
 * the trimmed object observes, kills and reads (watcher/tasks.ts) exactly as the whole one, and every
 * value those functions read of the whole object is there, the same, in the trimmed one.
 */
import { describe, expect, it } from 'vitest';
import { ANNOTATION_PARALLEL_INDEX, LABEL_CONFIG, LABEL_RETRY_INDEX, LABEL_RUN, LABEL_TASK_INDEX } from '../../engine/labels.js';
import { HTTP_TASK_KIND } from '../../engine/executors/http.js';
import { jobExecutor } from '../../engine/executors/job.js';
import { podExecutor } from '../../engine/executors/pod.js';
import { customResourceExecutor } from '../../engine/executors/custom-resource.js';
import { workflowExecutor } from '../../engine/executors/workflow.js';
import type { Executor, LiveTask } from '../../engine/executors/types.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import { cachedTask } from '../../watcher/cached-task.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { observeTasks, ownedBy } from '../../watcher/tasks.js';

const NOW = new Date('2026-03-01T10:10:00Z');
const CREATED = '2026-03-01T10:00:00Z';
const STARTED = '2026-03-01T10:00:05Z';
const RUNNING = '2026-03-01T10:00:12Z';
const FINISHED = '2026-03-01T10:04:40Z';
const EPOCH = '1970-01-01T00:00:00Z';
const RUN_UID = '6b1f0a52-31a4-4c52-9a43-0d2c86a9b0e1';
const run = { apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobRun', metadata: { name: 'nightly-r1', namespace: 'batch', uid: RUN_UID } } as unknown as JobRunObject;

const condition = (type: string, status: string, reason?: string, message?: string) => ({ type, status, ...(reason && { reason }), ...(message && { message }), lastProbeTime: null, lastTransitionTime: FINISHED });
const terminated = (exitCode: number, reason: string, message?: string, finishedAt = FINISHED) => ({
  terminated: { exitCode, reason, ...(message !== undefined && { message }), startedAt: RUNNING, finishedAt, containerID: 'containerd://4f2a9c' },
});
const container = (name: string, state: object, lastState: object = {}) => ({
  name,
  state,
  lastState,
  ready: false,
  restartCount: 1,
  image: 'ghcr.io/acme/etl:1.4',
  imageID: 'ghcr.io/acme/etl@sha256:0f3a9c',
  containerID: 'containerd://4f2a9c',
  started: false,
});

/** Every branch of the Pod executor's observe (engine/executors/pod.ts), with the fields a kubelet writes beside them. */
const POD_STATUSES: Record<string, object | undefined> = {
  'no status yet': undefined,
  unschedulable: { phase: 'Pending', qosClass: 'BestEffort', conditions: [condition('PodScheduled', 'False', 'Unschedulable', '0/3 nodes are available')] },
  'init container running': {
    phase: 'Pending',
    startTime: STARTED,
    conditions: [condition('PodScheduled', 'True'), condition('Initialized', 'False', 'ContainersNotInitialized', 'containers with incomplete status: [migrate]')],
    initContainerStatuses: [container('migrate', { running: { startedAt: RUNNING } })],
    containerStatuses: [container('main', { waiting: { reason: 'PodInitializing' } })],
  },
  'image pull failing': { phase: 'Pending', startTime: STARTED, containerStatuses: [container('main', { waiting: { reason: 'ErrImagePull', message: 'not found' } })] },
  running: { phase: 'Running', hostIP: '10.0.0.4', podIP: '10.1.0.9', podIPs: [{ ip: '10.1.0.9' }], startTime: STARTED, conditions: [condition('Ready', 'True')], containerStatuses: [container('main', { running: { startedAt: RUNNING } })] },
  'succeeded with a JSON result': { phase: 'Succeeded', startTime: STARTED, containerStatuses: [container('main', terminated(0, 'Completed', '{"rows":42}'))] },
  'succeeded with a text result': { phase: 'Succeeded', startTime: STARTED, containerStatuses: [container('main', terminated(0, 'Completed', 'done'))] },
  'succeeded, epoch finish': { phase: 'Succeeded', startTime: STARTED, containerStatuses: [container('main', terminated(0, 'Completed', undefined, EPOCH))] },
  'failed with exit 1': { phase: 'Failed', startTime: STARTED, containerStatuses: [container('main', terminated(1, 'Error', 'boom'))] },
  'failed, OOM before': { phase: 'Failed', startTime: STARTED, containerStatuses: [container('main', terminated(1, 'Error'), terminated(137, 'OOMKilled'))] },
  'deadline exceeded': { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline', startTime: STARTED },
  evicted: { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.', startTime: STARTED },
  disrupted: { phase: 'Failed', startTime: STARTED, conditions: [condition('DisruptionTarget', 'True', 'PreemptionByScheduler', 'preempted')], containerStatuses: [container('main', terminated(143, 'Error'))] },
  'init container failed': { phase: 'Failed', startTime: STARTED, initContainerStatuses: [container('migrate', terminated(2, 'Error', 'bad schema'))], containerStatuses: [container('main', { waiting: { reason: 'PodInitializing' } })] },
  'failed, nothing else': { phase: 'Failed' },
  unknown: { phase: 'Unknown', startTime: STARTED },
};

/** Every branch of the Job executor's observe (engine/executors/job.ts). */
const JOB_STATUSES: Record<string, object | undefined> = {
  'no status yet': undefined,
  complete: { startTime: STARTED, completionTime: FINISHED, succeeded: 1, ready: 0, terminating: 0, uncountedTerminatedPods: {}, conditions: [condition('SuccessCriteriaMet', 'True', 'CompletionsReached'), condition('Complete', 'True', 'CompletionsReached')] },
  'backoff limit': { startTime: STARTED, failed: 1, ready: 0, conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), condition('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] },
  'deadline exceeded': { startTime: STARTED, failed: 1, conditions: [condition('Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline')] },
  'failure target': { startTime: STARTED, active: 1, ready: 0, conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded', 'terminating')] },
  'success criteria met': { startTime: STARTED, active: 1, conditions: [condition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'terminating')] },
  suspended: { conditions: [condition('Suspended', 'True', 'JobSuspended', 'Job suspended')] },
  'active, none ready': { startTime: STARTED, active: 1, ready: 0 },
  'active, ready unknown': { startTime: STARTED, active: 1 },
  ready: { startTime: STARTED, active: 1, ready: 1 },
  'failed pods, no condition': { startTime: STARTED, failed: 1, ready: 0 },
};

const podSpec = (deadline?: number) => ({
  restartPolicy: 'Never',
  ...(deadline && { activeDeadlineSeconds: deadline }),
  containers: [{ name: 'main', image: 'ghcr.io/acme/etl:1.4', args: ['--day=2026-03-01'], resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }],
  dnsPolicy: 'ClusterFirst',
  schedulerName: 'default-scheduler',
  securityContext: {},
  terminationGracePeriodSeconds: 30,
  tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
  enableServiceLinks: true,
  preemptionPolicy: 'PreemptLowerPriority',
  priority: 0,
});

interface Case {
  readonly name: string;
  readonly object: KubeObject & { status?: Record<string, unknown> };
}

/** Each status crossed with: being deleted or not, a deadline or not, created by the watcher or applied by GitOps. */
function corpus(apiVersion: string, kind: string, statuses: Record<string, object | undefined>, spec: (deadline?: number, suspend?: boolean) => object): Case[] {
  const cases: Case[] = [];
  for (const [status, value] of Object.entries(statuses)) {
    for (const deleting of [false, true]) {
      for (const deadline of [undefined, 600]) {
        for (const owned of [false, true]) {
          const object = {
            apiVersion,
            kind,
            metadata: {
              name: 'nightly-r1-3-0',
              namespace: 'batch',
              uid: '0d3c2f4e-6a51-4f0e-9d0b-1c1f0e8a7b21',
              resourceVersion: '48213',
              generation: 1,
              creationTimestamp: CREATED,
              ...(deleting && { deletionTimestamp: FINISHED, deletionGracePeriodSeconds: 30 }),
              labels: { [LABEL_RUN]: 'nightly-r1', [LABEL_CONFIG]: 'nightly', [LABEL_TASK_INDEX]: '3', [LABEL_RETRY_INDEX]: '0', team: 'data' },
              annotations: { [ANNOTATION_PARALLEL_INDEX]: '{"indexNumber":3}', 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Pod"}' },
              ...(owned && { ownerReferences: [{ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobRun', name: 'nightly-r1', uid: RUN_UID, controller: true, blockOwnerDeletion: true }] }),
              managedFields: [{ manager: 'argocd-controller', operation: 'Apply', apiVersion, time: CREATED, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
            },
            spec: spec(deadline, status === 'suspended'),
            ...(value && { status: structuredClone(value) as Record<string, unknown> }),
          };
          cases.push({ name: `${kind} ${status}${deleting ? ', being deleted' : ''}${deadline ? ', with a deadline' : ''}${owned ? ', created by the watcher' : ''}`, object });
        }
      }
    }
  }
  return cases;
}

const KINDS: { kind: string; executor: Executor<unknown>; template: unknown; cases: Case[] }[] = [
  { kind: 'Pod', executor: podExecutor as Executor<unknown>, template: { spec: podSpec() }, cases: corpus('v1', 'Pod', POD_STATUSES, (deadline) => podSpec(deadline)) },
  {
    kind: 'Job',
    executor: jobExecutor as Executor<unknown>,
    template: { spec: { template: { spec: podSpec() } } },
    cases: corpus('batch/v1', 'Job', JOB_STATUSES, (deadline, suspend) => ({
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      completionMode: 'NonIndexed',
      ...(deadline && { activeDeadlineSeconds: deadline }),
      ...(suspend && { suspend: true }),
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'a1' } },
      template: { metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'a1' } }, spec: podSpec() },
    })),
  },
];

/** A view of `object` that records the path of every primitive value read through it (arrays' indexes included). */
function recording(object: object, reads: Set<string>, path: string[] = []): object {
  return new Proxy(object, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property === 'symbol' || typeof value === 'function') return value;
      const at = [...path, property];
      if (value !== null && typeof value === 'object') return recording(value, reads, at);
      reads.add(JSON.stringify(at));
      return value;
    },
  });
}

const valueAt = (object: unknown, path: string[]) => path.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], object);

describe.each(KINDS)('a trimmed $kind', ({ kind, executor, template, cases }) => {
  const trim = cachedTask(kind === 'Pod' ? 'v1' : 'batch/v1', kind);
  const selected = { executor, template, taskKind: { apiVersion: cases[0]!.object.apiVersion, kind } };
  const live = (object: KubeObject): LiveTask => ({ object: object as LiveTask['object'], createdByWatcher: ownedBy(object, run) });

  it(`observes and kills as the whole object, in each of ${cases.length} cases`, () => {
    for (const { name, object } of cases) {
      const trimmed = trim(structuredClone(object));
      expect(executor.observe(live(trimmed), template), name).toEqual(executor.observe(live(object), template));
      expect(executor.kill(live(trimmed), template, NOW), name).toEqual(executor.kill(live(object), template, NOW));
      expect(observeTasks(run, [trimmed], selected), name).toEqual(observeTasks(run, [object], selected));
      expect(ownedBy(trimmed, run), name).toBe(ownedBy(object, run));
    }
  });

  it('keeps every value observe, kill and the task reader read, and the identity a kill patches or deletes by', () => {
    for (const { name, object } of cases) {
      const reads = new Set<string>();
      const watched = recording(object, reads) as KubeObject;
      executor.observe(live(watched), template);
      executor.kill(live(watched), template, NOW);
      observeTasks(run, [watched], selected);
      const trimmed = trim(structuredClone(object));
      for (const path of [...reads].map((p) => JSON.parse(p) as string[])) expect(valueAt(trimmed, path), `${name}: ${path.join('.')}`).toEqual(valueAt(object, path));
      for (const field of ['apiVersion', 'kind', 'metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.resourceVersion']) {
        expect(valueAt(trimmed, field.split('.')), `${name}: ${field}`).toBe(valueAt(object, field.split('.')));
      }
    }
  });

  it('drops what nothing reads: managedFields, the spec beyond the deadline, other annotations, addresses and images', () => {
    const { object } = cases.find((c) => c.name.includes('with a deadline') && (c.object.status as { phase?: string } | undefined)?.phase === 'Running') ?? cases[2]!;
    const trimmed = trim(structuredClone(object)) as KubeObject & { spec: Record<string, unknown>; status?: Record<string, unknown> };
    expect(trimmed.metadata.managedFields).toBeUndefined();
    expect(trimmed.metadata.annotations).toEqual({ [ANNOTATION_PARALLEL_INDEX]: '{"indexNumber":3}' });
    expect(Object.keys(trimmed.spec)).toEqual(['activeDeadlineSeconds']);
    if (kind === 'Pod') {
      expect(trimmed.status).not.toHaveProperty('podIP');
      expect((trimmed.status!.containerStatuses as object[])[0]).toEqual({ name: 'main', state: { running: { startedAt: RUNNING } }, lastState: {} });
    }
    expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(object).length / 2);
  });
});

describe('other task kinds', () => {
  it.each([
    ['argoproj.io/v1alpha1', 'Workflow'],
    [HTTP_TASK_KIND.apiVersion, HTTP_TASK_KIND.kind],
    ['example.com/v1', 'Backup'],
  ])('%s %s lose only managedFields: CEL and the HTTP runner read any field', (apiVersion, kind) => {
    const object = {
      apiVersion,
      kind,
      metadata: { name: 't', namespace: 'batch', uid: 'u', resourceVersion: '1', annotations: { other: 'kept' }, managedFields: [{ manager: 'm' }] },
      spec: { anything: { deep: [1, 2] } },
      status: { custom: 'kept', phase: 'Running' },
    } as KubeObject;
    const { managedFields: _, ...metadata } = object.metadata;
    expect(cachedTask(apiVersion, kind)(structuredClone(object))).toEqual({ ...object, metadata });
  });
});

describe('a Workflow and a custom resource from the task cache', () => {
  const managed = { managedFields: [{ manager: 'argo', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } }] };
  const workflowSpec = { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'busybox' } }] };
  const tekton = {
    manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: { taskRef: { name: 'build' } } },
    successCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'True')",
    failureCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'False')",
    resultExpression: "{'names': self.status.results.map(r, r.name), 'labels': size(self.metadata.labels)}",
  };
  const cases: [string, Executor<unknown>, unknown, KubeObject, string][] = [
    ['a running Workflow', workflowExecutor as Executor<unknown>, { spec: workflowSpec }, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'w', namespace: 'batch', labels: { a: 'b' }, ...managed }, spec: workflowSpec, status: { phase: 'Running', startedAt: STARTED } } as KubeObject, 'Running'],
    ['a Workflow shut down', workflowExecutor as Executor<unknown>, { spec: workflowSpec }, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'w', namespace: 'batch', ...managed }, spec: { ...workflowSpec, shutdown: 'Terminate' }, status: { phase: 'Failed', startedAt: STARTED, finishedAt: FINISHED, message: 'Stopped' } } as KubeObject, 'Terminated'],
    [
      'a TaskRun that succeeded',
      customResourceExecutor as Executor<unknown>,
      tekton,
      { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: { name: 't', namespace: 'batch', labels: { a: 'b' }, ...managed }, spec: { taskRef: { name: 'build' } }, status: { startTime: STARTED, conditions: [condition('Succeeded', 'True', 'Succeeded', 'done')], results: [{ name: 'IMAGE_DIGEST', value: 'sha256:1' }] } } as KubeObject,
      'Terminated',
    ],
  ];
  it.each(cases)('%s observes and kills as the whole object', (_name, executor, template, object, state) => {
    const trim = cachedTask(object.apiVersion, object.kind);
    const live = (o: KubeObject): LiveTask => ({ object: o as LiveTask['object'], createdByWatcher: true });
    const whole = executor.observe(live(object), template);
    expect(whole.state).toBe(state);
    if (object.kind === 'TaskRun') expect(whole.taskResult).toEqual({ names: ['IMAGE_DIGEST'], labels: 1 });
    expect(executor.observe(live(trim(structuredClone(object))), template)).toEqual(whole);
    expect(executor.kill(live(trim(structuredClone(object))), template, NOW)).toEqual(executor.kill(live(object), template, NOW));
  });
});

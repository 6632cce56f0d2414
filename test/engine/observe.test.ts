import { describe, expect, it } from 'vitest';
import { customResourceExecutor } from '../../engine/executors/custom-resource.js';
import { jobExecutor } from '../../engine/executors/job.js';
import { podExecutor } from '../../engine/executors/pod.js';
import type { LiveTask, Manifest, TaskObservation } from '../../engine/executors/types.js';
import { workflowExecutor } from '../../engine/executors/workflow.js';
import type { CustomResourceTemplate } from '../../engine/schema/template.js';
import { deepFreeze } from './helpers.js';

const CREATED = '2026-03-01T10:00:00Z';
const STARTED = '2026-03-01T10:00:05Z';
const RUNNING = '2026-03-01T10:00:12Z';
const FINISHED = '2026-03-01T10:04:40Z';
const DELETED = '2026-03-01T10:05:00Z';
const EPOCH = '1970-01-01T00:00:00Z';

const condition = (type: string, status: string, reason?: string, message?: string, lastTransitionTime = FINISHED) => ({ type, status, reason, message, lastTransitionTime });

/** A live object the way the API server returns it; frozen, since observe must not touch it. */
function live(apiVersion: string, kind: string, spec: object, status: object | undefined, metadata: object = {}, createdByWatcher = false): LiveTask {
  const object: Manifest & { status?: Record<string, unknown> } = {
    apiVersion,
    kind,
    metadata: { name: 'nightly-0-0', namespace: 'batch', uid: '0d3c2f4e-6a51-4f0e-9d0b-1c1f0e8a7b21', creationTimestamp: CREATED, ...metadata },
    spec: { ...spec },
    ...(status && { status: { ...status } }),
  };
  return deepFreeze({ object, createdByWatcher });
}

describe('pod observe', () => {
  const podSpec = { restartPolicy: 'Never', containers: [{ name: 'main', image: 'ghcr.io/acme/etl:1.4' }] };
  const pod = (status: object | undefined, metadata?: object, spec: object = podSpec) => live('v1', 'Pod', spec, status, metadata);
  const terminated = (exitCode: number, reason: string, message?: string, startedAt = RUNNING, finishedAt = FINISHED) => ({
    terminated: { exitCode, reason, ...(message !== undefined && { message }), startedAt, finishedAt, containerID: 'containerd://4f2a' },
  });
  const main = (state: object, lastState: object = {}, name = 'main') => ({ name, state, lastState, ready: false, restartCount: 0, image: 'ghcr.io/acme/etl:1.4', started: false });
  const RESTARTED = '2026-03-01T10:02:00Z';
  const oomBefore = terminated(137, 'OOMKilled', undefined, RUNNING, '2026-03-01T10:01:50Z');
  const failedPod = (containerStatuses: object[], extra: object = {}) => ({ phase: 'Failed', startTime: STARTED, containerStatuses, ...extra });

  it.each<[string, LiveTask, TaskObservation]>([
    [
      'pending, unschedulable: PodScheduled False explains it',
      pod({
        phase: 'Pending',
        qosClass: 'Burstable',
        conditions: [condition('PodScheduled', 'False', 'Unschedulable', '0/3 nodes are available: 3 Insufficient cpu.')],
      }),
      { state: 'Starting', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' },
    ],
    [
      'pending on an init container',
      pod({
        phase: 'Pending',
        startTime: STARTED,
        conditions: [condition('PodScheduled', 'True'), condition('Initialized', 'False', 'ContainersNotInitialized', 'containers with incomplete status: [migrate]')],
        initContainerStatuses: [main({ running: { startedAt: RUNNING } }, {}, 'migrate')],
        containerStatuses: [main({ waiting: { reason: 'PodInitializing' } })],
      }),
      { state: 'Starting', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [migrate]' },
    ],
    [
      'pending, image pull backing off',
      pod({
        phase: 'Pending',
        startTime: STARTED,
        conditions: [condition('PodScheduled', 'True')],
        containerStatuses: [main({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "ghcr.io/acme/etl:1.4"' } })],
      }),
      { state: 'Starting', reason: 'ImagePullBackOff', message: 'Back-off pulling image "ghcr.io/acme/etl:1.4"' },
    ],
    [
      'running: the latest container start',
      pod({
        phase: 'Running',
        startTime: STARTED,
        containerStatuses: [main({ running: { startedAt: RUNNING } }), main({ running: { startedAt: '2026-03-01T10:00:09Z' } }, {}, 'sidecar')],
      }),
      { state: 'Running', runningTimestamp: RUNNING },
    ],
    [
      'succeeded with a JSON termination message: the result payload',
      pod({ phase: 'Succeeded', startTime: STARTED, containerStatuses: [main(terminated(0, 'Completed', '{"rows": 1200, "table": "events"}'))] }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: RUNNING, finishTimestamp: FINISHED, taskResult: { rows: 1200, table: 'events' } },
    ],
    [
      'succeeded with a text termination message',
      pod({ phase: 'Succeeded', startTime: STARTED, containerStatuses: [main(terminated(0, 'Completed', 'wrote 1200 rows'))] }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: RUNNING, finishTimestamp: FINISHED, taskResult: 'wrote 1200 rows' },
    ],
    [
      'succeeded: the last container with a message gives the result, finish is the latest',
      pod({
        phase: 'Succeeded',
        startTime: STARTED,
        containerStatuses: [
          main(terminated(0, 'Completed', '{"part": 1}')),
          main(terminated(0, 'Completed', '{"part": 2}', RUNNING, '2026-03-01T10:03:00Z'), {}, 'second'),
          main(terminated(0, 'Completed', undefined, RUNNING, '2026-03-01T10:03:30Z'), {}, 'third'),
        ],
      }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: RUNNING, finishTimestamp: FINISHED, taskResult: { part: 2 } },
    ],
    [
      'failed with exit 1 and no message',
      pod(failedPod([main(terminated(1, 'Error'))])),
      { state: 'Terminated', result: 'Failed', reason: 'Error', message: 'Container exited with status 1', runningTimestamp: RUNNING, finishTimestamp: FINISHED, exitCodes: { main: 1 } },
    ],
    [
      'failed with the log tail as message (FallbackToLogsOnError)',
      pod(failedPod([main(terminated(2, 'Error', 'KeyError: events'))])),
      {
        state: 'Terminated', result: 'Failed', reason: 'Error', message: 'KeyError: events',
        runningTimestamp: RUNNING, finishTimestamp: FINISHED, taskResult: 'KeyError: events', exitCodes: { main: 2 },
      },
    ],
    [
      'OOMKilled now',
      pod(failedPod([main(terminated(137, 'OOMKilled'))])),
      { state: 'Terminated', result: 'Failed', reason: 'OOMKilled', message: 'Container exited with status 137', runningTimestamp: RUNNING, finishTimestamp: FINISHED, exitCodes: { main: 137 } },
    ],
    [
      'OOMKilled before the last restart (OnFailure pod deleted by its Job, then marked Failed)',
      pod(
        failedPod([main(terminated(143, 'Error', undefined, RESTARTED, '2026-03-01T10:04:59Z'), oomBefore)]),
        { deletionTimestamp: DELETED },
        { ...podSpec, restartPolicy: 'OnFailure' },
      ),
      {
        state: 'Terminated', result: 'Failed', reason: 'OOMKilled', message: 'Container exited with status 137',
        runningTimestamp: RESTARTED, finishTimestamp: '2026-03-01T10:04:59Z', exitCodes: { main: 143 },
      },
    ],
    [
      'succeeded after an OOMKilled restart: the pod still succeeded',
      pod({ phase: 'Succeeded', startTime: STARTED, containerStatuses: [main(terminated(0, 'Completed', undefined, RESTARTED), oomBefore)] }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: RESTARTED, finishTimestamp: FINISHED },
    ],
    [
      'evicted by node pressure: killed by the system, the pod reason wins over the condition',
      pod(
        failedPod([main(terminated(137, 'Error'))], {
          reason: 'Evicted',
          message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 48Mi.',
          conditions: [condition('DisruptionTarget', 'True', 'TerminationByKubelet', 'The node was low on resource: memory.')],
        }),
      ),
      {
        state: 'Terminated', result: 'Killed', reason: 'Evicted', message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 48Mi.',
        runningTimestamp: RUNNING, finishTimestamp: FINISHED, exitCodes: { main: 137 },
      },
    ],
    [
      'preempted (DisruptionTarget only)',
      pod(failedPod([main(terminated(143, 'Error'))], { conditions: [condition('DisruptionTarget', 'True', 'PreemptionByScheduler', 'default-scheduler: preempting to accommodate a higher priority pod')] })),
      {
        state: 'Terminated', result: 'Killed', reason: 'PreemptionByScheduler', message: 'default-scheduler: preempting to accommodate a higher priority pod',
        runningTimestamp: RUNNING, finishTimestamp: FINISHED, exitCodes: { main: 143 },
      },
    ],
    [
      'graceful node shutdown',
      pod(failedPod([main(terminated(143, 'Error'))], { reason: 'Terminated', message: 'Pod was terminated in response to imminent node shutdown.' })),
      {
        state: 'Terminated', result: 'Killed', reason: 'Terminated', message: 'Pod was terminated in response to imminent node shutdown.',
        runningTimestamp: RUNNING, finishTimestamp: FINISHED, exitCodes: { main: 143 },
      },
    ],
    [
      'DeadlineExceeded (taskplane\'s in-place kill): killed, even after an earlier OOM',
      pod(
        failedPod([main(terminated(137, 'Error', undefined, RESTARTED), oomBefore)], { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }),
        {},
        { ...podSpec, restartPolicy: 'OnFailure', activeDeadlineSeconds: 270 },
      ),
      {
        state: 'Terminated', result: 'Killed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline',
        runningTimestamp: RESTARTED, finishTimestamp: FINISHED, exitCodes: { main: 137 },
      },
    ],
    [
      'DeadlineExceeded before any container finished: startTime + activeDeadlineSeconds',
      pod(
        failedPod([main({ waiting: { reason: 'ContainerCreating' } })], { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }),
        {},
        { ...podSpec, activeDeadlineSeconds: 600 },
      ),
      { state: 'Terminated', result: 'Killed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline', finishTimestamp: '2026-03-01T10:10:05Z' },
    ],
    [
      'a container that never ran: epoch-zero start ignored',
      pod(failedPod([main(terminated(128, 'StartError', 'exec: "etl": executable file not found in $PATH', EPOCH))])),
      {
        state: 'Terminated', result: 'Failed', reason: 'StartError', message: 'exec: "etl": executable file not found in $PATH',
        finishTimestamp: FINISHED, taskResult: 'exec: "etl": executable file not found in $PATH', exitCodes: { main: 128 },
      },
    ],
    [
      'failed at admission, no containers: finish falls back to startTime',
      pod({ phase: 'Failed', startTime: STARTED, reason: 'UnexpectedAdmissionError', message: 'Allocate failed due to no healthy devices present' }),
      { state: 'Terminated', result: 'Failed', reason: 'UnexpectedAdmissionError', message: 'Allocate failed due to no healthy devices present', finishTimestamp: STARTED },
    ],
    [
      'failed with no startTime: finish falls back to creationTimestamp',
      pod({ phase: 'Failed', reason: 'NodeAffinity', message: 'Pod was rejected: Predicate NodeAffinity failed' }),
      { state: 'Terminated', result: 'Failed', reason: 'NodeAffinity', message: 'Pod was rejected: Predicate NodeAffinity failed', finishTimestamp: CREATED },
    ],
    [
      'deleting while running',
      pod({ phase: 'Running', startTime: STARTED, containerStatuses: [main({ running: { startedAt: RUNNING } })] }, { deletionTimestamp: DELETED }),
      { state: 'Killing', runningTimestamp: RUNNING },
    ],
    [
      'deleting while pending',
      pod({ phase: 'Pending' }, { deletionTimestamp: DELETED }),
      { state: 'Killing' },
    ],
    [
      'deleting after it succeeded: finished wins',
      pod({ phase: 'Succeeded', startTime: STARTED, containerStatuses: [main(terminated(0, 'Completed'))] }, { deletionTimestamp: DELETED }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: RUNNING, finishTimestamp: FINISHED },
    ],
    ['just created, no status', pod(undefined), { state: 'Starting' }],
  ])('%s', (_name, task, expected) => {
    expect(podExecutor.observe(task, { spec: podSpec })).toEqual(expected);
  });
});

describe('job observe', () => {
  const jobSpec = { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'ghcr.io/acme/etl:1.4' }] } } };
  const job = (status: object | undefined, metadata?: object, spec: object = jobSpec) => live('batch/v1', 'Job', spec, status, metadata);
  const counts = (active: number, ready: number, failed = 0, succeeded = 0) => ({ startTime: STARTED, active, ready, failed, succeeded, terminating: 0, uncountedTerminatedPods: {} });

  it.each<[string, LiveTask, TaskObservation]>([
    ['created, not synced yet', job(undefined), { state: 'Starting' }],
    ['its pods are all pending', job(counts(1, 0)), { state: 'Starting' }],
    ['a pod is ready', job(counts(1, 1)), { state: 'Running' }],
    ['an earlier pod failed, the retry is pending (backoffLimit > 0)', job(counts(1, 0, 1)), { state: 'Running' }],
    ['a cluster without status.ready: active counts', job({ startTime: STARTED, active: 1 }), { state: 'Running' }],
    [
      'complete',
      job({
        ...counts(0, 0, 0, 1),
        completionTime: FINISHED,
        conditions: [condition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'), condition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods')],
      }),
      { state: 'Terminated', result: 'Succeeded', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
    [
      'complete on a cluster that only sets completionTime',
      job({ ...counts(0, 0, 0, 1), completionTime: FINISHED, conditions: [{ type: 'Complete', status: 'True' }] }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
    [
      'failed: backoff limit',
      job({
        ...counts(0, 0, 1),
        conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), condition('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')],
      }),
      { state: 'Terminated', result: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
    [
      'failed: deadline exceeded is a kill',
      job({
        ...counts(0, 0, 1),
        conditions: [condition('FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline'), condition('Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline')],
      }),
      { state: 'Terminated', result: 'Killed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
    [
      'FailureTarget only: pods still terminating, so still running',
      job({ ...counts(0, 0, 1), terminating: 1, conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] }),
      { state: 'Running', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
    ],
    [
      'SuccessCriteriaMet only: still running',
      job({ ...counts(1, 0, 0, 1), conditions: [condition('SuccessCriteriaMet', 'True', 'SuccessPolicy', 'Matched rules at index 0')] }),
      { state: 'Running', reason: 'SuccessPolicy', message: 'Matched rules at index 0' },
    ],
    [
      'suspended',
      job({ conditions: [condition('Suspended', 'True', 'JobSuspended', 'Job suspended')] }, {}, { ...jobSpec, suspend: true }),
      { state: 'Starting', reason: 'Suspended', message: 'Job suspended' },
    ],
    [
      'resumed: Suspended False no longer matters',
      job({ ...counts(1, 1), conditions: [condition('Suspended', 'False', 'JobResumed', 'Job resumed')] }, {}, { ...jobSpec, suspend: false }),
      { state: 'Running' },
    ],
    ['deleting while running', job(counts(1, 1), { deletionTimestamp: DELETED }), { state: 'Killing' }],
    [
      'deleting after it completed: finished wins',
      job({ ...counts(0, 0, 0, 1), completionTime: FINISHED, conditions: [condition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods')] }, { deletionTimestamp: DELETED }),
      { state: 'Terminated', result: 'Succeeded', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
  ])('%s', (_name, task, expected) => {
    expect(jobExecutor.observe(task, { spec: jobSpec })).toEqual(expected);
  });
});

describe('workflow observe', () => {
  const workflowSpec = { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'busybox' } }] };
  const workflow = (status: object | undefined, spec: object = workflowSpec, metadata?: object) => live('argoproj.io/v1alpha1', 'Workflow', spec, status, metadata);
  const outputs = { parameters: [{ name: 'rows', value: '1200' }] };
  const done = (phase: string, message?: string) => ({ phase, startedAt: STARTED, finishedAt: FINISHED, progress: '1/1', ...(message && { message }) });
  const stopped = { ...workflowSpec, shutdown: 'Terminate' };

  it.each<[string, LiveTask, TaskObservation]>([
    ['not processed yet (no status)', workflow(undefined), { state: 'Starting' }],
    ['phase empty', workflow({ phase: '' }), { state: 'Starting' }],
    ['pending', workflow({ phase: 'Pending', startedAt: STARTED }), { state: 'Starting' }],
    ['running', workflow({ phase: 'Running', startedAt: STARTED, progress: '0/1' }), { state: 'Running', runningTimestamp: STARTED }],
    [
      'succeeded with outputs',
      workflow({ ...done('Succeeded'), outputs }),
      { state: 'Terminated', result: 'Succeeded', runningTimestamp: STARTED, finishTimestamp: FINISHED, taskResult: outputs },
    ],
    [
      'failed',
      workflow(done('Failed', "child 'nightly-0-0-1234' failed")),
      { state: 'Terminated', result: 'Failed', reason: 'Failed', message: "child 'nightly-0-0-1234' failed", runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
    [
      'error',
      workflow(done('Error', 'pods "nightly-0-0-1234" is forbidden: exceeded quota')),
      {
        state: 'Terminated', result: 'Failed', reason: 'Error', message: 'pods "nightly-0-0-1234" is forbidden: exceeded quota',
        runningTimestamp: STARTED, finishTimestamp: FINISHED,
      },
    ],
    [
      'terminated by shutdown: killed',
      workflow(done('Failed', "Stopped with strategy 'Terminate'"), stopped),
      { state: 'Terminated', result: 'Killed', reason: 'Shutdown', message: "Stopped with strategy 'Terminate'", runningTimestamp: STARTED, finishTimestamp: FINISHED },
    ],
    ['shutdown requested while running', workflow({ phase: 'Running', startedAt: STARTED }, stopped), { state: 'Killing', runningTimestamp: STARTED }],
    ['deleting while running', workflow({ phase: 'Running', startedAt: STARTED }, workflowSpec, { deletionTimestamp: DELETED }), { state: 'Killing', runningTimestamp: STARTED }],
  ])('%s', (_name, task, expected) => {
    expect(workflowExecutor.observe(task, { spec: workflowSpec })).toEqual(expected);
  });
});

describe('customResource observe', () => {
  const SUCCEEDED = (status: string) => `self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == '${status}')`;
  const template: CustomResourceTemplate = {
    manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: { taskRef: { name: 'build' } } },
    successCondition: SUCCEEDED('True'),
    failureCondition: SUCCEEDED('False'),
    resultExpression: "{'digest': self.status.results.filter(r, r.name == 'IMAGE_DIGEST')[0].value, 'count': size(self.status.results), 'names': self.status.results.map(r, r.name)}",
  };
  const withRunning = { ...template, runningCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.reason == 'Running')" };
  const taskRun = (status: object | undefined, metadata?: object) => live('tekton.dev/v1', 'TaskRun', { taskRef: { name: 'build' } }, status, metadata);
  const succeeded = (status: string, reason: string, message: string, extra: object = {}) => ({
    podName: 'nightly-0-0-pod',
    startTime: STARTED,
    conditions: [condition('Succeeded', status, reason, message)],
    ...extra,
  });
  const results = [
    { name: 'IMAGE_DIGEST', type: 'string', value: 'sha256:9f2c' },
    { name: 'IMAGE_URL', type: 'string', value: 'ghcr.io/acme/app:1.4' },
  ];

  it.each<[string, CustomResourceTemplate, LiveTask, TaskObservation]>([
    [
      'succeeded, with the result expression as JSON (map, int, list)',
      template,
      taskRun(succeeded('True', 'Succeeded', 'All Steps have completed executing', { completionTime: FINISHED, results })),
      { state: 'Terminated', result: 'Succeeded', taskResult: { digest: 'sha256:9f2c', count: 2, names: ['IMAGE_DIGEST', 'IMAGE_URL'] } },
    ],
    [
      'failed; the result expression errors (no results), so no result',
      template,
      taskRun(succeeded('False', 'Failed', '"step-build" exited with code 1', { completionTime: FINISHED })),
      { state: 'Terminated', result: 'Failed' },
    ],
    ['Succeeded Unknown, no runningCondition: running', template, taskRun(succeeded('Unknown', 'Pending', 'Pending')), { state: 'Running' }],
    ['Succeeded Unknown/Pending with a runningCondition: starting', withRunning, taskRun(succeeded('Unknown', 'Pending', 'Pending')), { state: 'Starting' }],
    ['Succeeded Unknown/Running with a runningCondition: running', withRunning, taskRun(succeeded('Unknown', 'Running', 'Not all Steps in the Task have finished executing')), { state: 'Running' }],
    ['no status at all, no runningCondition: running', template, taskRun(undefined), { state: 'Running' }],
    ['no status at all, with a runningCondition: starting', withRunning, taskRun(undefined), { state: 'Starting' }],
    [
      'both conditions hold: failure wins',
      { ...template, successCondition: 'has(self.status.completionTime)', resultExpression: 'self.status.results' },
      taskRun(succeeded('False', 'Failed', 'oops', { completionTime: FINISHED, results: [results[0]] })),
      { state: 'Terminated', result: 'Failed', taskResult: [{ name: 'IMAGE_DIGEST', type: 'string', value: 'sha256:9f2c' }] },
    ],
    [
      'runtime errors and non-boolean results count as false',
      { ...template, failureCondition: "self.status.conditions[3].status == 'False'", successCondition: 'self.status.podName', runningCondition: '1 / 0 == 1' },
      taskRun(succeeded('False', 'Failed', 'oops')),
      { state: 'Starting' },
    ],
    [
      'an expression that does not even parse counts as false',
      { ...template, failureCondition: 'self.status.(' },
      taskRun(succeeded('True', 'Succeeded', 'All Steps have completed executing', { results })),
      { state: 'Terminated', result: 'Succeeded', taskResult: { digest: 'sha256:9f2c', count: 2, names: ['IMAGE_DIGEST', 'IMAGE_URL'] } },
    ],
    ['deleting while running', template, taskRun(succeeded('Unknown', 'Running', 'Running'), { deletionTimestamp: DELETED }), { state: 'Killing' }],
  ])('%s', (_name, tmpl, task, expected) => {
    expect(customResourceExecutor.observe(task, tmpl)).toEqual(expected);
  });

  it('evaluates the same compiled expression against each new object', () => {
    const observe = (status: string) => customResourceExecutor.observe(taskRun(succeeded(status, 'X', 'x')), template).state;
    expect([observe('Unknown'), observe('True'), observe('False'), observe('Unknown')]).toEqual(['Running', 'Terminated', 'Terminated', 'Running']);
  });
});

describe('kill in place', () => {
  const NOW = new Date('2026-03-01T10:02:05.700Z'); // 120.7 s after STARTED
  const podSpec = { restartPolicy: 'Never', containers: [{ name: 'main', image: 'ghcr.io/acme/etl:1.4' }] };
  const pod = (status: object, spec: object = podSpec) => live('v1', 'Pod', spec, status);
  const deadline = (seconds: number) => ({ kind: 'mergePatch', patch: { spec: { activeDeadlineSeconds: seconds } } });
  const finished = { kind: 'impossible', why: 'the task already finished' };

  it.each<[string, LiveTask, object]>([
    ['a running pod: the deadline is the whole seconds it has been active', pod({ phase: 'Running', startTime: STARTED }), deadline(120)],
    ['a deadline from Git that is longer is lowered', pod({ phase: 'Running', startTime: STARTED }, { ...podSpec, activeDeadlineSeconds: 3600 }), deadline(120)],
    ['a smaller existing deadline is kept (a Pod rejects increases)', pod({ phase: 'Running', startTime: STARTED }, { ...podSpec, activeDeadlineSeconds: 60 }), deadline(60)],
    ['a pod not started yet gets 1', pod({ phase: 'Pending' }), deadline(1)],
    ['a pod started under a second ago gets 1', pod({ phase: 'Pending', startTime: '2026-03-01T10:02:05Z' }), deadline(1)],
    ['a finished pod cannot be killed', pod({ phase: 'Succeeded', startTime: STARTED }), finished],
  ])('pod: %s', (_name, task, expected) => {
    expect(podExecutor.kill(task, { spec: podSpec }, NOW)).toEqual(expected);
  });

  it.each<[string, LiveTask, object]>([
    ['a running job', live('batch/v1', 'Job', { backoffLimit: 0 }, { startTime: STARTED, active: 1, ready: 1 }), deadline(120)],
    ['a suspended job (no startTime): 1, which applies once resumed', live('batch/v1', 'Job', { suspend: true }, {}), deadline(1)],
    ['a failed job', live('batch/v1', 'Job', {}, { startTime: STARTED, conditions: [condition('Failed', 'True', 'BackoffLimitExceeded', 'x')] }), finished],
  ])('job: %s', (_name, task, expected) => {
    expect(jobExecutor.kill(task, { spec: {} }, NOW)).toEqual(expected);
  });

  it.each<[string, LiveTask, object]>([
    ['a running workflow is terminated', live('argoproj.io/v1alpha1', 'Workflow', { entrypoint: 'main' }, { phase: 'Running' }), { kind: 'mergePatch', patch: { spec: { shutdown: 'Terminate' } } }],
    ['a succeeded workflow', live('argoproj.io/v1alpha1', 'Workflow', { entrypoint: 'main' }, { phase: 'Succeeded' }), finished],
  ])('workflow: %s', (_name, task, expected) => {
    expect(workflowExecutor.kill(task, { spec: {} }, NOW)).toEqual(expected);
  });

  const template: CustomResourceTemplate = {
    manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun' },
    successCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'True')",
    failureCondition: "self.status.conditions.exists(c, c.type == 'Succeeded' && c.status == 'False')",
  };
  const cancel = { spec: { status: 'TaskRunCancelled', statusMessage: 'killed by taskplane' } };
  const running = (createdByWatcher: boolean) => live('tekton.dev/v1', 'TaskRun', {}, { conditions: [condition('Succeeded', 'Unknown', 'Running', 'Running')] }, {}, createdByWatcher);

  it.each<[string, CustomResourceTemplate, LiveTask, object]>([
    ['a declared killPatch is applied, even to watcher-created objects', { ...template, killPatch: cancel }, running(true), { kind: 'mergePatch', patch: cancel }],
    ['no killPatch, created by the watcher: delete', template, running(true), { kind: 'delete' }],
    ['no killPatch, managed by GitOps: impossible', template, running(false), { kind: 'impossible', why: 'the object is managed by GitOps; declare killPatch to stop Git-managed tasks in place' }],
    ['already finished', { ...template, killPatch: cancel }, live('tekton.dev/v1', 'TaskRun', {}, { conditions: [condition('Succeeded', 'True', 'Succeeded', 'done')] }), finished],
  ])('customResource: %s', (_name, tmpl, task, expected) => {
    expect(customResourceExecutor.kill(task, tmpl, NOW)).toEqual(expected);
  });
});

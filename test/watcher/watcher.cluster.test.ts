/**
 * The watcher against the real control plane: runs applied the way Argo CD (or Flux) applies them,
 * task outcomes driven the way a kubelet writes pod status, assertions on the JobRun status and on
 * the objects the watcher created or changed.
 */
import { Duration } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompletionStrategy, Materialization, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { BUILT_IN_TASK_RESOURCES } from '../../engine/task-kinds.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { kill } from '../../cli/kill.js';
import { applyCrds, clusterInfo, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, events, getRun, listTasks, markPodRunning, podTask, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const client = testClient();
const GITOPS_MARKS = ['app.kubernetes.io/instance', 'argocd.argoproj.io/tracking-id', 'argocd.argoproj.io/installation-id'];
let watcher: Watcher;
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-watch');
  // Installed for the Tekton TaskRuns these tests use as custom resources, besides the built-in kinds.
  watcher = await startWatcher({ namespace: ns.name, taskResources: [...BUILT_IN_TASK_RESOURCES, { group: 'tekton.dev', resource: 'taskruns' }] });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

const conditionOf = (run: { status?: { conditions?: { type: string; status: string }[] } }, type: string) =>
  run.status?.conditions?.find((c) => c.type === type)?.status;

/** What a kubelet does when a Pod's activeDeadlineSeconds passed: the Pod fails with DeadlineExceeded. */
async function enforceDeadline(name: string): Promise<void> {
  const pod = await waitUntil(`activeDeadlineSeconds on ${name}`, async () => {
    const p = await client.get<KubeObject & { spec: { activeDeadlineSeconds?: number } }>('v1', 'Pod', ns.name, name);
    return p.spec.activeDeadlineSeconds ? p : undefined;
  });
  await client.mergePatch(pod, { status: { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' } }, 'status');
}

/** Field managers of each field of an object, flattened: `f:spec.f:activeDeadlineSeconds` → manager. */
function managersOf(object: KubeObject): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  const walk = (fields: Record<string, unknown>, path: string, manager: string) => {
    for (const [key, value] of Object.entries(fields)) {
      const at = path ? `${path}.${key}` : key;
      if (value && typeof value === 'object' && Object.keys(value).length) walk(value as Record<string, unknown>, at, manager);
      else owners.set(at, [...(owners.get(at) ?? []), manager]);
    }
  };
  for (const entry of (object.metadata.managedFields ?? []) as { manager: string; fieldsV1?: Record<string, unknown>; subresource?: string }[]) {
    if (!entry.subresource) walk(entry.fieldsV1 ?? {}, '', entry.manager);
  }
  return owners;
}

describe('retries', () => {
  it('fail, fail, succeed with maxAttempts 3: three attempts with deterministic names, retry delay honoured', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'flaky', maxAttempts: 3, retryDelay: Duration.seconds(2), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await waitForRun(client, ns.name, 'flaky-r1', 'started', (r) => r.status?.tasks?.length === 1);

    for (const attempt of [0, 1]) {
      const name = `flaky-r1-0-${attempt}`;
      await waitUntil(`pod ${name}`, () => client.get('v1', 'Pod', ns.name, name));
      const failedAt = Date.now();
      await finishPod(ns.name, name, 'Failed');
      const next = await waitUntil(`attempt ${attempt + 1}`, () => client.get('v1', 'Pod', ns.name, `flaky-r1-0-${attempt + 1}`), 20_000);
      // creationTimestamp has whole seconds: allow one second of rounding.
      expect(Date.parse(next.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(failedAt + 2000 - 1000);
    }
    await finishPod(ns.name, 'flaky-r1-0-2', 'Succeeded');

    const done = await waitForRun(client, ns.name, 'flaky-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['flaky-r1-0-0', 0, 'Failed'],
      ['flaky-r1-0-1', 1, 'Failed'],
      ['flaky-r1-0-2', 2, 'Succeeded'],
    ]);
    expect(conditionOf(done, 'Ready')).toBe('True');
    expect(conditionOf(done, 'Reconciling')).toBe('False');

    // Retries belong to the run (Argo CD shows them as children; GC removes them with it) and carry no GitOps marks.
    const pods = await listTasks(client, ns.name, 'v1', 'Pod', 'flaky-r1');
    for (const pod of pods.slice(1)) {
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'JobRun', name: 'flaky-r1', uid: done.metadata.uid, controller: true })]);
      for (const mark of GITOPS_MARKS) expect(pod.metadata.labels?.[mark] ?? pod.metadata.annotations?.[mark]).toBeUndefined();
      expect(Object.keys(pod.metadata.labels ?? {}).filter((k) => k.startsWith('kustomize.toolkit.fluxcd.io/'))).toEqual([]);
    }
    // The Git-applied first attempt was never touched by the watcher.
    expect([...managersOf(pods[0]!).values()].flat()).not.toContain('taskplane-watcher');
    expect(pods[0]!.metadata.ownerReferences).toBeUndefined();
    // Events follow the status write that the wait above observed.
    const reasons = await waitUntil('the Finished event', async () => {
      const seen = (await events(client, ns.name, 'flaky-r1')).map((e) => e.reason);
      return seen.includes('Finished') ? seen : undefined;
    });
    expect(reasons).toEqual(['Started', 'TaskFinished', 'RetryScheduled', 'TaskCreated', 'TaskFinished', 'RetryScheduled', 'TaskCreated', 'TaskFinished', 'Finished']);
    // The JobConfig's status follows its runs (kubectl get jobconfigs shows it).
    const configStatus = await waitUntil('the JobConfig status', async () => {
      const live = await client.get<KubeObject & { status?: Record<string, unknown> }>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'flaky');
      return live.status?.lastExecuted === done.status!.startTime && live.status?.state === 'Ready' ? live.status : undefined;
    });
    expect(configStatus).toMatchObject({ active: 0, queued: 0, activeRuns: [], queuedRuns: [] });
  });

  it('fails beyond maxAttempts: Failed with Stalled=True', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'doomed', maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await finishPod(ns.name, 'doomed-r1-0-0', 'Failed');
    await waitUntil('attempt 1', () => client.get('v1', 'Pod', ns.name, 'doomed-r1-0-1'));
    await finishPod(ns.name, 'doomed-r1-0-1', 'Failed');
    const done = await waitForRun(client, ns.name, 'doomed-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(conditionOf(done, 'Stalled')).toBe('True');
    expect(conditionOf(done, 'Ready')).toBe('False');
    expect(done.status!.tasks).toHaveLength(2);
  });
});

describe('completion strategies kill in place', () => {
  it('AllSuccessful with one failed index: the other indexes are stopped through activeDeadlineSeconds, only that field changes', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'shards', parallelism: Parallelism.withCount(3), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await finishPod(ns.name, 'shards-r1-0-0', 'Failed');
    for (const name of ['shards-r1-1-0', 'shards-r1-2-0']) await enforceDeadline(name);
    const done = await waitForRun(client, ns.name, 'shards-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(done.status!.tasks!.map((t) => t.status.result)).toEqual(['Failed', 'Killed', 'Killed']);
    expect(done.status!.tasks![1]!.status.reason).toBe('CompletionStrategy');

    const killed = await client.get('v1', 'Pod', ns.name, 'shards-r1-1-0');
    const watcherFields = [...managersOf(killed)].filter(([, managers]) => managers.includes('taskplane-watcher')).map(([field]) => field);
    expect(watcherFields).toEqual(['f:spec.f:activeDeadlineSeconds']);
    // No object GitOps applied was deleted.
    expect((await listTasks(client, ns.name, 'v1', 'Pod', 'shards-r1')).map((p) => p.metadata.name)).toEqual(['shards-r1-0-0', 'shards-r1-1-0', 'shards-r1-2-0']);
  });

  it('AnySuccessful: the first success stops the rest and the run succeeds', async () => {
    const { config, run, tasks } = synthRun(
      ns.name,
      { name: 'hedged', parallelism: Parallelism.withCount(3, { completionStrategy: CompletionStrategy.ANY_SUCCESSFUL }), task: TaskTemplate.pod({ spec: podTask() }) },
      (c) => c.run('r1', {}),
    );
    await applyAsGitOps([config, run, ...tasks]);
    await markPodRunning(client, ns.name, 'hedged-r1-0-0');
    await finishPod(ns.name, 'hedged-r1-1-0', 'Succeeded');
    for (const name of ['hedged-r1-0-0', 'hedged-r1-2-0']) await enforceDeadline(name);
    const done = await waitForRun(client, ns.name, 'hedged-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.progress).toBe('1/3');
    expect(done.status!.tasks!.map((t) => t.status.result)).toEqual(['Killed', 'Succeeded', 'Killed']);
  });
});

describe('timeouts and kills', () => {
  it('pending timeout: a task that never starts is stopped and retried', async () => {
    const { config, run, tasks } = synthRun(
      ns.name,
      { name: 'stuck', maxAttempts: 2, pendingTimeout: Duration.seconds(2), task: TaskTemplate.pod({ spec: podTask() }) },
      (c) => c.run('r1', {}),
    );
    await applyAsGitOps([config, run, ...tasks]);
    const retried = await waitForRun(client, ns.name, 'stuck-r1', 'a second attempt', (r) => (r.status?.tasks?.length ?? 0) === 2, 20_000);
    expect(retried.status!.tasks![0]!.status).toMatchObject({ result: 'Killed', reason: 'PendingTimeout' });
    // The kill is patched after the status that records it (status first): wait for it, do not race it.
    const deadline = await waitUntil('the kill on the first attempt', async () =>
      (await client.get<KubeObject & { spec: { activeDeadlineSeconds?: number } }>('v1', 'Pod', ns.name, 'stuck-r1-0-0')).spec.activeDeadlineSeconds);
    expect(deadline).toBeGreaterThanOrEqual(1);
  });

  it('task timeout: a running task over its limit is stopped and counts as a failed attempt', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'slow', taskTimeout: Duration.seconds(2), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await markPodRunning(client, ns.name, 'slow-r1-0-0');
    await enforceDeadline('slow-r1-0-0');
    const done = await waitForRun(client, ns.name, 'slow-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(done.status!.tasks![0]!.status).toMatchObject({ result: 'Killed', reason: 'TaskTimeout' });
  });

  it('kill by spec.killTimestamp from Git, and by `taskplane kill`', async () => {
    const killAt = new Date(Date.now() - 1000);
    const fromGit = synthRun(ns.name, { name: 'stop-git', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', { killAt }));
    const fromCli = synthRun(ns.name, { name: 'stop-cli', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([fromGit.config, fromGit.run, ...fromGit.tasks, fromCli.config, fromCli.run, ...fromCli.tasks]);
    await markPodRunning(client, ns.name, 'stop-cli-r1-0-0');
    await waitForRun(client, ns.name, 'stop-cli-r1', 'running', (r) => r.status?.phase === 'Running');
    const said = await kill('stop-cli-r1', { kubeconfig: clusterInfo().kubeconfigPath, namespace: ns.name });
    expect(said).toContain(`jobrun ${ns.name}/stop-cli-r1 will be killed`);
    for (const name of ['stop-git-r1-0-0', 'stop-cli-r1-0-0']) await enforceDeadline(name);
    for (const name of ['stop-git-r1', 'stop-cli-r1']) {
      const done = await waitForRun(client, ns.name, name, 'Killed', (r) => r.status?.phase === 'Killed');
      expect(done.status!.tasks![0]!.status).toMatchObject({ result: 'Killed', reason: 'RunKilled' });
      expect(conditionOf(done, 'Stalled')).toBe('True');
    }
  });
});

describe('Deferred runs and Flux', () => {
  it('the watcher creates the first attempts of a Deferred run, owned by the run', async () => {
    const { config, run, tasks } = synthRun(
      ns.name,
      { name: 'later', parallelism: Parallelism.withKeys(['eu', 'us']), task: TaskTemplate.pod({ spec: podTask(['echo ${job.uid}']) }) },
      (c) => c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    expect(tasks).toEqual([]);
    await applyAsGitOps([config, run], 'kustomize-controller');
    const pods = await waitUntil('two pods', async () => {
      const list = await listTasks(client, ns.name, 'v1', 'Pod', 'later-r1');
      return list.length === 2 ? list : undefined;
    });
    const live = await getRun(client, ns.name, 'later-r1');
    expect(pods.map((p) => p.metadata.name)).toEqual(['later-r1-eu-0', 'later-r1-us-0']);
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ name: 'later-r1', uid: live.metadata.uid })]);
      expect((pod as unknown as { spec: { containers: { args: string[] }[] } }).spec.containers[0]!.args).toEqual([`echo ${live.metadata.uid}`]);
    }
  });
});

describe('Flux', () => {
  it('retries of a run Flux applied carry neither its labels nor its field manager, and Flux-set fields stay Flux\'s', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'fluxed', maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    // What kustomize-controller adds to every object it applies.
    const fluxLabels = { 'kustomize.toolkit.fluxcd.io/name': 'batch-jobs', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
    const labelled = [config, run, ...tasks].map((o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...fluxLabels } } }));
    await applyAsGitOps(labelled, 'kustomize-controller');
    await finishPod(ns.name, 'fluxed-r1-0-0', 'Failed');
    const retry = await waitUntil('the retry', () => client.get('v1', 'Pod', ns.name, 'fluxed-r1-0-1'));
    expect(Object.keys(retry.metadata.labels ?? {}).filter((k) => k.startsWith('kustomize.toolkit.fluxcd.io/'))).toEqual([]);
    expect(retry.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'JobRun', name: 'fluxed-r1' })]);
    expect([...new Set([...managersOf(retry).values()].flat())]).toEqual(['taskplane-watcher']);
    const first = await client.get('v1', 'Pod', ns.name, 'fluxed-r1-0-0');
    expect([...new Set([...managersOf(first).values()].flat())]).toEqual(['kustomize-controller']);
    await finishPod(ns.name, 'fluxed-r1-0-1', 'Succeeded');
    await waitForRun(client, ns.name, 'fluxed-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  });
});

describe('bad input', () => {
  it('a run whose template fails validation is Stalled with an event, nothing is created, and other runs still progress', async () => {
    const good = synthRun(ns.name, { name: 'fine', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const bad = structuredClone(good.run) as KubeObject & typeof good.run;
    bad.metadata = { ...bad.metadata, name: 'broken-r1' };
    (bad.spec.template.taskTemplate as Record<string, unknown>) = { pod: { spec: { containers: [{ name: 'x', image: 'y' }], restartPolicy: 'Always' } } };
    const unknownExecutor = structuredClone(bad);
    unknownExecutor.metadata = { ...unknownExecutor.metadata, name: 'alien-r1' };
    (unknownExecutor.spec.template.taskTemplate as Record<string, unknown>) = { lambda: { fn: 'x' } };
    const badCel = structuredClone(bad);
    badCel.metadata = { ...badCel.metadata, name: 'badcel-r1' };
    (badCel.spec.template.taskTemplate as Record<string, unknown>) = {
      customResource: { manifest: { apiVersion: 'v1', kind: 'ConfigMap' }, successCondition: 'self.data ==', failureCondition: 'false' },
    };
    await applyAsGitOps([bad, badCel, good.config, good.run, ...good.tasks]);
    // Server-side apply rejects the unknown key outright ("field not declared in schema"); a plain create prunes it.
    await expect(applyAsGitOps([unknownExecutor])).rejects.toThrow(/lambda: field not declared in schema/);
    await client.create(unknownExecutor);
    for (const name of ['broken-r1', 'alien-r1', 'badcel-r1']) {
      const stalled = await waitForRun(client, ns.name, name, 'AdmissionError', (r) => r.status?.phase === 'AdmissionError');
      expect(conditionOf(stalled, 'Stalled')).toBe('True');
      await waitUntil(`InvalidSpec event of ${name}`, async () => (await events(client, ns.name, name)).some((e) => e.reason === 'InvalidSpec'));
      expect(await listTasks(client, ns.name, 'v1', 'Pod', name)).toEqual([]);
    }
    const alien = await getRun(client, ns.name, 'alien-r1');
    expect(alien.status!.message).toBe('spec.template.taskTemplate: an executor is required; valid: one of pod, job, workflow, customResource, http');
    expect((await getRun(client, ns.name, 'badcel-r1')).status!.message).toContain('CEL does not compile');
    await finishPod(ns.name, 'fine-r1-0-0', 'Succeeded');
    await waitForRun(client, ns.name, 'fine-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  });

  it('a task the API server rejects (422) ends the run in AdmissionError instead of retrying for ever', async () => {
    const { config, run } = synthRun(
      ns.name,
      // A port out of range: a rule the API server checks and synth does not.
      { name: 'rejected', task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox:1.36', ports: [{ containerPort: 70_000 }] }] } }) },
      (c) => c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
    const done = await waitForRun(client, ns.name, 'rejected-r1', 'AdmissionError', (r) => r.status?.phase === 'AdmissionError');
    expect(done.status).toMatchObject({ reason: 'TaskRejected', result: 'AdmissionError' });
    expect(done.status!.message).toContain('Pod rejected-r1-0-0');
    expect(conditionOf(done, 'Stalled')).toBe('True');
    expect(await listTasks(client, ns.name, 'v1', 'Pod', 'rejected-r1')).toEqual([]);
  });
});

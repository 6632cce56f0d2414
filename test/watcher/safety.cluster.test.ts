/**
 * The watcher's safety promises on the real control plane (issue 9): a finished task never runs
 * again and its record never changes, whatever the caches lag or GitOps re-applies; a run that
 * cannot proceed says why (status and event) instead of retrying in silence; a task kind that
 * cannot be watched fails only the runs that need it.
 *
 * The races are looped (ITERATIONS constants) so that a regression shows, with exact counts: objects
 * per (index, attempt), events per reason, records unchanged after finish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomResourceManifest, Materialization, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { createMetrics } from '../../watcher/metrics.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, events, getRun, listTasks, markPodRunning, podTask, registryValue, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const client = testClient();
let watcher: Watcher;
let ns: TestNamespace;
const metrics = createMetrics();

/** Runs of the stale-cache race; each records INDEXES successes and then loses their Pods at once. */
const STALE_CACHE_RUNS = 12;
/** Runs of the stray race; each has INDEXES first attempts deleted and re-applied at once, twice. */
const STRAY_RUNS = 6;
const INDEXES = 5;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-safety');
  watcher = await startWatcher({ namespace: ns.name, metrics });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

/** `name-index-attempt` → count, for every Pod of the run. */
async function podsPerAttempt(run: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const pod of await listTasks(client, ns.name, 'v1', 'Pod', run)) {
    const key = `${pod.metadata.labels!['taskplane.dev/task-index']}/${pod.metadata.labels!['taskplane.dev/retry-index']}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Events are recorded after the status write that decided them: wait for the one that comes last. */
const eventSeen = (namespace: string, run: string, reason: string) =>
  waitUntil(`${run}: ${reason} event`, async () => (await events(client, namespace, run)).some((e) => e.reason === reason), 10_000);

async function eventCounts(run: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const event of await events(client, ns.name, run)) counts[event.reason] = (counts[event.reason] ?? 0) + 1;
  return counts;
}

const record = (run: JobRunObject) => {
  const { tasks, indexes, progress, phase, result, finishTime, createdTasks } = run.status!;
  return structuredClone({ tasks, indexes, progress, phase, result, finishTime, createdTasks });
};

const deletePod = (name: string) => client.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns.name } });

describe('a recorded success is never re-run', () => {
  it(`stale cache after the watcher's own status write: ${STALE_CACHE_RUNS} runs x ${INDEXES} indexes, each Pod deleted the moment its success is recorded; not one retry, one TaskFinished per task`, async () => {
    const creates = await registryValue(metrics, 'taskplane_tasks_created_total');
    for (let i = 0; i < STALE_CACHE_RUNS; i++) {
      const { config, run, tasks } = synthRun(ns.name, { name: `stale${i}`, maxAttempts: 3, parallelism: Parallelism.withCount(INDEXES), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', {}));
      // A few hundred KB per JobRun: its watch events arrive late, as in the report.
      run.metadata.annotations = { ...run.metadata.annotations, 'test.taskplane.dev/padding': 'x'.repeat(200_000) };
      await applyAsGitOps([config, run, ...tasks]);
      const name = run.metadata.name;
      await waitForRun(client, ns.name, name, 'every task observed', (r) => r.status?.tasks?.length === INDEXES && r.status.tasks.every((t) => t.uid));
      await Promise.all(tasks.map((task) => finishPod(ns.name, task.metadata.name, 'Succeeded')));
      // Delete each Pod as soon as the status records its success (the watcher's next reconcile races its own write).
      const deleted = new Set<string>();
      await waitUntil(`${name}: every success recorded and its Pod deleted`, async () => {
        const current = await getRun(client, ns.name, name);
        for (const ref of current.status?.tasks ?? []) {
          if (ref.status.result === 'Succeeded' && !deleted.has(ref.name)) {
            deleted.add(ref.name);
            await deletePod(ref.name);
          }
        }
        return deleted.size === INDEXES;
      }, 30_000);
      const done = await waitForRun(client, ns.name, name, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
      await eventSeen(ns.name, name, 'Finished');
      // Give a late reconcile its chance to do wrong.
      await new Promise((r) => setTimeout(r, 300));
      const after = await getRun(client, ns.name, name);
      expect(record(after)).toStrictEqual(record(done));
      expect(after.status!.progress).toBe(`${INDEXES}/${INDEXES}`);
      expect(after.status!.tasks!.map((t) => [t.retryIndex, t.status.result])).toEqual(Array.from({ length: INDEXES }, () => [0, 'Succeeded']));
      expect(await podsPerAttempt(name)).toEqual({});
      expect(await eventCounts(name)).toEqual({ Started: 1, TaskFinished: INDEXES, Finished: 1 });
    }
    expect(await registryValue(metrics, 'taskplane_tasks_created_total')).toBe(creates);
  });
});

describe('strays: a new object under a finished or tombstoned task\'s name', () => {
  it(`${STRAY_RUNS} runs x ${INDEXES} indexes: first attempts deleted by hand and re-applied by GitOps at once (while running, then after the run finished): each index runs one retry, every re-created object is stopped in place and reported, the finished record never changes`, async () => {
    for (let i = 0; i < STRAY_RUNS; i++) {
      const { config, run, tasks } = synthRun(ns.name, { name: `stray${i}`, maxAttempts: 2, parallelism: Parallelism.withCount(INDEXES), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', {}));
      const name = run.metadata.name;
      await applyAsGitOps([config, run, ...tasks]);
      for (const task of tasks) await markPodRunning(client, ns.name, task.metadata.name);
      await waitForRun(client, ns.name, name, 'every task running', (r) => r.status?.runningTasks === INDEXES && r.status.tasks!.every((t) => t.uid));

      // kubectl delete, then the next Argo CD sync re-creates them: no pause in between.
      for (const task of tasks) await deletePod(task.metadata.name);
      await applyAsGitOps(tasks);
      const retried = await waitForRun(client, ns.name, name, 'a retry per index, every stray stopped', (r) => r.status?.tasks?.length === 2 * INDEXES && r.status.strayTasks?.filter((s) => s.killRequest).length === INDEXES);
      expect(retried.status!.tasks!.filter((t) => t.retryIndex === 0).map((t) => t.status.state)).toEqual(Array(INDEXES).fill('DeletedFinalStateUnknown'));
      for (const task of tasks) {
        // The kill request is recorded in the status before the patch is sent: wait for the patch.
        const stray = await waitUntil(`${task.metadata.name} patched`, async () => {
          const pod = await client.get<KubeObject & { spec: { activeDeadlineSeconds?: number } }>('v1', 'Pod', ns.name, task.metadata.name);
          return pod.spec.activeDeadlineSeconds !== undefined ? pod : undefined;
        });
        expect(stray.spec.activeDeadlineSeconds, `${task.metadata.name} stopped in place`).toBe(1);
      }
      const retries = Array.from({ length: INDEXES }, (_, index) => `${name}-${index}-1`);
      await Promise.all(retries.map((retry) => finishPod(ns.name, retry, 'Succeeded')));
      const done = await waitForRun(client, ns.name, name, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
      expect(done.status!.progress).toBe(`${INDEXES}/${INDEXES}`);

      // After the finish: the strays fail, are deleted and re-applied once more; the record stands.
      await Promise.all(tasks.map((task) => finishPod(ns.name, task.metadata.name, 'Failed')));
      await waitForRun(client, ns.name, name, 'the strays seen failed', (r) => r.status?.strayTasks?.filter((s) => s.state === 'Terminated').length === INDEXES);
      for (const task of tasks) await deletePod(task.metadata.name);
      await applyAsGitOps(tasks);
      const after = await waitForRun(client, ns.name, name, 'the second strays stopped', (r) => r.status?.strayTasks?.filter((s) => s.killRequest).length === 2 * INDEXES);
      await Promise.all(tasks.map((task) => finishPod(ns.name, task.metadata.name, 'Failed')));
      const settled = await waitForRun(client, ns.name, name, 'the second strays seen failed', (r) => r.status?.strayTasks?.filter((s) => s.state === 'Terminated').length === 2 * INDEXES);
      expect(record(settled)).toStrictEqual(record(done));
      expect(record(after)).toStrictEqual(record(done));
      expect(settled.status!.conditions!.find((c) => c.type === 'StrayTasks')).toMatchObject({ status: 'True', reason: 'StrayTask' });
      const perAttempt = Object.fromEntries(Array.from({ length: INDEXES }, (_, index) => [[`${index}/0`, 1], [`${index}/1`, 1]]).flat());
      expect(await podsPerAttempt(name)).toEqual(perAttempt);
      expect(await eventCounts(name)).toEqual({ Started: 1, TaskFinished: 2 * INDEXES, TaskCreated: INDEXES, StrayTask: 2 * INDEXES, Finished: 1 });
    }
  });
});

describe('runs that cannot proceed say why', () => {
  it('a render error at run time (an unknown ${option.x} in a config applied without synth) ends in AdmissionError/RenderFailed with one Warning event; a configName no object can have is refused at once; nothing is created', async () => {
    const { config, run } = synthRun(ns.name, { name: 'unrenderable', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', { materialization: Materialization.DEFERRED }));
    // The config's own template carries the unknown variable (synth would refuse it; kubectl apply does not).
    const unknownVariable = (template: typeof run.spec.template) =>
      ((template.taskTemplate as { pod: { spec: { containers: { args: string[] }[] } } }).pod.spec.containers[0]!.args = ['echo ${option.nope}']);
    unknownVariable((config as unknown as typeof run).spec.template);
    const unknownOption = structuredClone(run);
    unknownOption.metadata.name = 'unrenderable-option';
    unknownVariable(unknownOption.spec.template);
    const badConfigName = structuredClone(run);
    badConfigName.metadata.name = 'unrenderable-config';
    badConfigName.spec.configName = 'Not a label value!';
    await applyAsGitOps([config, unknownOption, badConfigName]);
    for (const [name, reason] of [['unrenderable-option', 'RenderFailed'], ['unrenderable-config', 'ConfigNotFound']] as const) {
      const ended = await waitForRun(client, ns.name, name, 'AdmissionError', (r) => r.status?.phase === 'AdmissionError');
      expect(ended.status).toMatchObject({ result: 'AdmissionError', reason });
      expect(ended.status!.conditions!.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason });
      await eventSeen(ns.name, name, reason);
      expect((await events(client, ns.name, name)).filter((e) => e.type === 'Warning')).toEqual([expect.objectContaining({ reason })]);
      expect(await podsPerAttempt(name)).toEqual({});
    }
  });

  it('a task Pod Security admission refuses (403) ends the run in AdmissionError/TaskForbidden with one Warning event', async () => {
    const restricted = await createNamespace('tp-psa');
    const psa = await startWatcher({ namespace: restricted.name });
    try {
      await client.mergePatch({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: restricted.name } }, { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
      const { config, run } = synthRun(restricted.name, { name: 'privileged', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', { materialization: Materialization.DEFERRED }));
      await applyAsGitOps([config, run]);
      const ended = await waitForRun(client, restricted.name, run.metadata.name, 'AdmissionError', (r) => r.status?.phase === 'AdmissionError');
      expect(ended.status).toMatchObject({ reason: 'TaskForbidden' });
      expect(ended.status!.message).toContain('violates PodSecurity');
      await eventSeen(restricted.name, run.metadata.name, 'TaskForbidden');
      const warnings = (await events(client, restricted.name, run.metadata.name)).filter((e) => e.type === 'Warning');
      expect(warnings.map((e) => e.reason)).toEqual(['TaskForbidden']);
      expect(await listTasks(client, restricted.name, 'v1', 'Pod', run.metadata.name)).toEqual([]);
    } finally {
      await psa.stop();
      await restricted.delete();
    }
  });

  it('runs of a kind that does not exist and of a kind that cannot be listed (Binding) hold no worker: with 1 worker another run finishes; the first retries with a ReconcileError condition, the second is refused before it is ever listed (Binding is never a task kind); /readyz stays ready', async () => {
    const other = await createNamespace('tp-kinds');
    const single = await startWatcher({ namespace: other.name, workers: 1 });
    try {
      const custom = (name: string, apiVersion: string, kind: string) =>
        synthRun(
          other.name,
          { name, task: TaskTemplate.customResource({ manifest: CustomResourceManifest.fromObject({ apiVersion, kind, target: { name: 'n' } }), successCondition: 'true', failureCondition: 'false' }) },
          (c) => c.run('r', { materialization: Materialization.DEFERRED }),
        );
      const missing = custom('missing', 'example.taskplane.dev/v1', 'Nothing');
      const binding = custom('binding', 'v1', 'Binding');
      const { config, run, tasks } = synthRun(other.name, { name: 'fine', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', {}));
      await applyAsGitOps([missing.config, missing.run, binding.config, binding.run]);
      await applyAsGitOps([config, run, ...tasks]);
      await finishPod(other.name, tasks[0]!.metadata.name, 'Succeeded');
      await waitForRun(client, other.name, run.metadata.name, 'Succeeded', (r) => r.status?.phase === 'Succeeded', 20_000);

      const waiting = await waitForRun(client, other.name, missing.run.metadata.name, 'ReconcileError', (r) => r.status?.conditions?.some((c) => c.type === 'ReconcileError') === true);
      expect(waiting.status!.conditions!.find((c) => c.type === 'ReconcileError')).toMatchObject({ status: 'True', reason: 'TaskCacheUnavailable' });
      await eventSeen(other.name, missing.run.metadata.name, 'TaskCacheUnavailable');
      expect((await events(client, other.name, missing.run.metadata.name)).filter((e) => e.reason === 'TaskCacheUnavailable')).toHaveLength(1);
      const refused = await waitForRun(client, other.name, binding.run.metadata.name, 'AdmissionError', (r) => r.status?.phase === 'AdmissionError');
      expect(refused.status).toMatchObject({ reason: 'TaskKindNotAllowed' });
      expect(single.readiness()).toEqual([]);
    } finally {
      await single.stop();
      await other.delete();
    }
  });

  it('someone else writes the status (a bogus ref at attempt 40, phase Succeeded on a running run): the watcher restores its record and reports it; a restarted watcher, with no record, reports it', async () => {
    const foreignNs = await createNamespace('tp-foreign');
    let owner = await startWatcher({ namespace: foreignNs.name });
    try {
      const { config, run, tasks } = synthRun(foreignNs.name, { name: 'owned', maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', {}));
      const name = run.metadata.name;
      await applyAsGitOps([config, run, ...tasks]);
      await markPodRunning(client, foreignNs.name, tasks[0]!.metadata.name);
      const before = await waitForRun(client, foreignNs.name, name, 'Running', (r) => r.status?.phase === 'Running');
      const bogus = { ...before.status!.tasks![0]!, name: `${name}-0-40`, retryIndex: 40, uid: 'bogus' };
      const forge = (target: JobRunObject & KubeObject) =>
        client.mergePatch(target, { status: { phase: 'Succeeded', result: 'Success', finishTime: '2026-01-01T00:00:00Z', tasks: [...target.status!.tasks!, bogus] } }, 'status');
      await forge(before);
      const restored = await waitForRun(client, foreignNs.name, name, 'restored', (r) => r.status?.phase === 'Running' && r.status.tasks?.length === 1);
      expect(restored.status!.finishTime).toBeUndefined();
      expect(restored.status!.result).toBeUndefined();
      expect(record(restored)).toStrictEqual(record(before));
      await eventSeen(foreignNs.name, name, 'ForeignStatusWrite');
      const reported = (await events(client, foreignNs.name, name)).filter((e) => e.reason === 'ForeignStatusWrite');
      expect(reported).toEqual([expect.objectContaining({ type: 'Warning', message: expect.stringContaining("taskplane-test, not the watcher; restored the watcher's record") })]);
      // The run goes on as if nothing happened.
      await finishPod(foreignNs.name, tasks[0]!.metadata.name, 'Succeeded');
      await waitForRun(client, foreignNs.name, name, 'Succeeded for real', (r) => r.status?.phase === 'Succeeded' && r.status.finishTime !== '2026-01-01T00:00:00Z');

      // While no watcher runs: the next one has no record of its own and can only report.
      const { config: config2, run: run2, tasks: tasks2 } = synthRun(foreignNs.name, { name: 'orphan', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r', {}));
      await applyAsGitOps([config2, run2, ...tasks2]);
      const running = await waitForRun(client, foreignNs.name, run2.metadata.name, 'Pending', (r) => r.status?.tasks?.length === 1);
      await owner.stop();
      await forge(running);
      owner = await startWatcher({ namespace: foreignNs.name });
      await eventSeen(foreignNs.name, run2.metadata.name, 'ForeignStatusWrite');
      const orphanReports = (await events(client, foreignNs.name, run2.metadata.name)).filter((e) => e.reason === 'ForeignStatusWrite');
      expect(orphanReports).toEqual([expect.objectContaining({ type: 'Warning', message: expect.stringContaining('taskplane-test, not the watcher; the watcher restarted and has no record') })]);
    } finally {
      await owner.stop();
      await foreignNs.delete();
    }
  });
});

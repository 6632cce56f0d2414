/**
 * The reproduction (issue 9, part 4): a run of 400 tasks whose results are 4 KB each passed
 * etcd's request limit after ~347 results, and every later status write failed. With the status
 * bounded (engine/run/results.ts, fold.ts, pack.ts) the run finishes, its status written, well under
 * the limit; and a Deferred run of 1,000 tasks at once keeps its tasks going in a few groups.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Materialization, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { FOLD_THRESHOLD_BYTES, STATUS_BUDGET_BYTES, statusBytes } from '../../engine/run/fold.js';
import { MAX_RESULT_BYTES, RESULTS_BUDGET_BYTES } from '../../engine/run/results.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { Watcher } from '../../watcher/controller.js';
import { AGGREGATE_AFTER } from '../../watcher/event-recorder.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, events, podTask, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const TASKS = 400;
const client = testClient();
let watcher: Watcher;
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-status-size');
  watcher = await startWatcher({ namespace: ns.name });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

/** A JSON result of exactly `bytes` bytes, different for each task. */
function result(task: number, bytes: number): string {
  const head = JSON.stringify({ task, log: '' });
  return JSON.stringify({ task, log: 'r'.repeat(bytes - head.length) });
}

describe(`a run of ${TASKS} tasks with ${MAX_RESULT_BYTES}-byte results`, () => {
  it('finishes with its status written, within the status budget, each index run once', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'big', parallelism: Parallelism.withCount(TASKS), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await waitForRun(client, ns.name, 'big-r1', 'all first attempts seen', (r) => r.status?.createdTasks === TASKS && !r.status.tasks?.some((ref) => !ref.uid), 120_000);
    for (let i = 0; i < TASKS; i++) {
      const message = result(i, MAX_RESULT_BYTES);
      expect(Buffer.byteLength(message)).toBe(MAX_RESULT_BYTES);
      await finishPod(ns.name, `big-r1-${i}-0`, 'Succeeded', { message });
    }
    const done = await waitForRun(client, ns.name, 'big-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 180_000);
    const status = done.status!;
    const bytes = statusBytes(status);
    const object = Buffer.byteLength(JSON.stringify(done));
    const kept = (status.tasks ?? []).filter((ref) => ref.taskResult).length;
    console.log(`${TASKS} tasks, ${MAX_RESULT_BYTES}-byte results: status ${bytes} bytes (object ${object}), ${status.tasks?.length ?? 0} refs, ${kept} results kept, folded ${JSON.stringify(status.foldedTasks)}`);
    expect(status.progress).toBe(`${TASKS}/${TASKS}`);
    expect(status.createdTasks).toBe(TASKS);
    expect(bytes).toBeLessThanOrEqual(STATUS_BUDGET_BYTES);
    // Past the threshold the finished attempts were folded: one entry for the successes folded so far
    // (from index 0), refs for those that finished after the last fold.
    expect(FOLD_THRESHOLD_BYTES).toBeLessThan(TASKS * MAX_RESULT_BYTES);
    expect(status.foldedTasks).toEqual([{ indexes: expect.stringMatching(/^0-\d+$/), attempts: 1, lastFinishTime: expect.any(String), lastStatus: { state: 'Terminated', result: 'Succeeded' } }]);
    const folded = Number(status.foldedTasks![0]!.indexes.split('-')[1]) + 1;
    expect(folded + (status.tasks?.length ?? 0)).toBe(TASKS);
    expect(status.tasks?.every((ref) => ref.status.result === 'Succeeded' && ref.retryIndex === 0)).toBe(true);
    // Results: at most 64 KiB of them are kept; the others are marked.
    const omitted = (status.tasks ?? []).filter((ref) => ref.resultOmitted);
    expect(omitted.every((ref) => ref.resultOmitted!.reason === 'StatusBudget' && ref.resultOmitted!.bytes === MAX_RESULT_BYTES)).toBe(true);
    expect(kept * MAX_RESULT_BYTES).toBeLessThanOrEqual(RESULTS_BUDGET_BYTES);
    // Never re-run: exactly one Pod per index, none created by the watcher.
    const pods = await client.list('v1', 'Pod', { labelSelector: 'taskplane.dev/run=big-r1' }, ns.name);
    expect(pods.items.map((p) => p.metadata.name).sort()).toEqual(tasks.map((t) => t.metadata.name).sort());
    // Each attempt's outcome is in an event, folded or not...
    const finished = (await events(client, ns.name, 'big-r1')).filter((e) => e.reason === 'TaskFinished');
    expect(finished).toHaveLength(TASKS);
    // ...in a few Event objects: ten of their own, the rest combined with a count (watcher/event-recorder.ts).
    const objects = (await client.list<KubeObject & { reason: string; involvedObject: { name: string } }>('v1', 'Event', {}, ns.name)).items.filter((e) => e.involvedObject.name === 'big-r1' && e.reason === 'TaskFinished');
    expect(objects).toHaveLength(AGGREGATE_AFTER + 1);
  }, 600_000);

  const WIDE = 1000;
  it(`a Deferred run of ${WIDE} tasks at once: the watcher creates each once, the status packs them, and the run finishes within the budget`, async () => {
    const { config, run } = synthRun(ns.name, { name: 'wide', parallelism: Parallelism.withCount(WIDE), task: TaskTemplate.pod({ spec: podTask() }) }, (c) =>
      c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
    const podNames = async () => (await client.list('v1', 'Pod', { labelSelector: 'taskplane.dev/run=wide-r1' }, ns.name)).items.map((p) => p.metadata.name);
    await waitUntil(`${WIDE} Pods`, async () => (await podNames()).length === WIDE, 300_000);
    const going = await waitForRun(client, ns.name, 'wide-r1', 'every task observed', (r) => r.status?.createdTasks === WIDE && (r.status.liveTasks ?? []).every((group) => group.status.reason !== 'CreateRequested'), 300_000);
    const bytes = statusBytes(going.status!);
    console.log(`${WIDE} tasks going: status ${bytes} bytes, ${going.status?.liveTasks?.length} live groups, ${going.status?.tasks?.length ?? 0} refs`);
    expect(going.status?.tasks ?? []).toEqual([]);
    expect(bytes).toBeLessThan(4096);
    for (const name of await podNames()) await finishPod(ns.name, name, 'Succeeded');
    const done = await waitForRun(client, ns.name, 'wide-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 300_000);
    expect(done.status?.progress).toBe(`${WIDE}/${WIDE}`);
    expect(done.status?.createdTasks).toBe(WIDE);
    expect(done.status?.liveTasks).toBeUndefined();
    expect(statusBytes(done.status!)).toBeLessThanOrEqual(STATUS_BUDGET_BYTES);
    // Never re-run: one Pod per index, attempt 0 each.
    const names = await podNames();
    expect(names).toHaveLength(WIDE);
    expect(new Set(names).size).toBe(WIDE);
    expect(names.every((name) => name.endsWith('-0'))).toBe(true);
  }, 900_000);
});


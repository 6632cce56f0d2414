/**
 * A run of 100 tasks through the watcher, measured: how long from a task's failure to its retry's
 * creation, from the last task's end to the run's final status, and how many API writes the watcher
 * makes per task transition. Figures are printed (they go into the issue notes), not asserted: only
 * correctness is, and a loose bound on writes, which must not grow with the run's size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Parallelism, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { Watcher } from '../../watcher/controller.js';
import { Reflector } from '../../watcher/kube/reflector.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { createMetrics } from '../../watcher/metrics.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, podTask, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const TASKS = 100;
const client = testClient();
const metrics = createMetrics();
let watcher: Watcher;
let ns: TestNamespace;
let pods: Reflector<KubeObject>;
const seenAt = new Map<string, number>();

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-scale');
  // The test's own informer: when each pod appeared, as any client watching would see it.
  pods = new Reflector(client, { apiVersion: 'v1', kind: 'Pod', namespace: ns.name, labelSelector: 'taskplane.dev/run' });
  pods.on('add', (pod) => seenAt.set(pod.metadata.name, performance.now()));
  pods.start();
  await pods.waitForSync();
  watcher = await startWatcher({ namespace: ns.name, metrics });
});

afterAll(async () => {
  await watcher?.stop();
  await pods?.stop();
  await ns?.delete();
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function counter(name: string, filter: (labels: Partial<Record<string, string | number>>) => boolean = () => true): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).filter((v) => filter(v.labels)).reduce((sum, v) => sum + v.value, 0);
}

describe(`a run of ${TASKS} tasks`, () => {
  it('retries every failed index once, finishes, and stays within a few writes per transition', async () => {
    const { config, run, tasks } = synthRun(ns.name, { name: 'wide', maxAttempts: 2, parallelism: Parallelism.withCount(TASKS), task: TaskTemplate.pod({ spec: podTask() }) }, (c) =>
      c.run('r1', {}),
    );
    await applyAsGitOps([config, run, ...tasks]);
    await waitForRun(client, ns.name, 'wide-r1', 'all first attempts seen', (r) => r.status?.tasks?.length === TASKS);

    const writes = () => counter('taskplane_api_requests_total', (l) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(String(l.verb)));
    const writesBefore = await writes();
    const transitionsBefore = await counter('taskplane_task_transitions_total');

    const failedAt = new Map<number, number>();
    for (let i = 0; i < TASKS; i++) {
      await finishPod(ns.name, `wide-r1-${i}-0`, 'Failed');
      failedAt.set(i, performance.now());
    }
    await waitUntil('every retry', async () => [...Array(TASKS).keys()].every((i) => seenAt.has(`wide-r1-${i}-1`)), 60_000);
    const retryLatency = [...failedAt].map(([i, at]) => seenAt.get(`wide-r1-${i}-1`)! - at);

    let lastEnd = 0;
    for (let i = 0; i < TASKS; i++) {
      await finishPod(ns.name, `wide-r1-${i}-1`, 'Succeeded');
      lastEnd = performance.now();
    }
    const done = await waitForRun(client, ns.name, 'wide-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 60_000);
    const finalLatency = performance.now() - lastEnd;

    expect(done.status!.tasks).toHaveLength(2 * TASKS);
    expect(new Set(done.status!.tasks!.map((t) => t.name)).size).toBe(2 * TASKS);
    expect(done.status!.progress).toBe(`${TASKS}/${TASKS}`);
    const podNames = pods.list().map((p) => p.metadata.name);
    expect(podNames).toHaveLength(2 * TASKS);

    const writeCount = (await writes()) - writesBefore;
    const transitions = (await counter('taskplane_task_transitions_total')) - transitionsBefore;
    const writesPerTransition = writeCount / transitions;
    console.log(
      [
        `watcher, ${TASKS} tasks (each fails once, then succeeds):`,
        `  failure -> retry created:     median ${median(retryLatency).toFixed(0)} ms, max ${Math.max(...retryLatency).toFixed(0)} ms`,
        `  last task end -> Succeeded:   ${finalLatency.toFixed(0)} ms (upper bound: observed by polling every 200 ms)`,
        `  API writes per transition:    ${writesPerTransition.toFixed(2)} (${writeCount} writes, ${transitions} task transitions)`,
      ].join('\n'),
    );
    // Status writes are batched per reconcile, so writes per transition must not grow with the run.
    expect(writesPerTransition).toBeLessThan(3);
  }, 180_000);
});

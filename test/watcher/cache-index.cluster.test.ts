/**
 * The watcher's caches keep buckets (watcher/cache-indexes.ts): a reconcile reads its own run's task
 * objects, not every cached object of the kind. Proven by counting, not timing: with hundreds of
 * other Pods cached, each reconcile of a one-task run reads one object. Task objects are cached
 * without managedFields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskTemplate } from '../../constructs/index.js';
import { LABEL_RUN } from '../../engine/labels.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { runBucket, taskRunBucket } from '../../watcher/cache-indexes.js';
import { withoutManagedFields } from '../../watcher/cached-task.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { Reflector } from '../../watcher/kube/reflector.js';
import { createMetrics } from '../../watcher/metrics.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, podTask, registryValue, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

/** Pods of a run that has no JobRun: cached by the watcher, never its reconciles' business. */
const OTHERS = 300;
const client = testClient();
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-cache-index');
});

afterAll(async () => {
  await ns?.delete();
});

const pod = (name: string, run: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns.name, labels: { [LABEL_RUN]: run } }, spec: podTask() }) as KubeObject;
const names = (objects: readonly KubeObject[]) => objects.map((o) => o.metadata.name).sort();

describe('a cache with buckets', () => {
  it('keeps each object in the bucket of its current label through adds, relabels, deletes and re-lists, without managedFields', async () => {
    const pods = new Reflector<KubeObject>(client, { apiVersion: 'v1', kind: 'Pod', namespace: ns.name, labelSelector: LABEL_RUN, indexBy: taskRunBucket, transform: withoutManagedFields });
    pods.start();
    try {
      await pods.waitForSync();
      for (const [name, run] of [['a-1', 'a'], ['a-2', 'a'], ['b-1', 'b']] as const) await client.create(pod(name, run));
      const bucket = (run: string) => names(pods.byIndex(runBucket(ns.name, run)));
      await waitUntil('three Pods in their buckets', async () => bucket('a').length === 2 && bucket('b').length === 1);
      await client.mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a-2', namespace: ns.name } }, { metadata: { labels: { [LABEL_RUN]: 'b' } } });
      await waitUntil('a-2 moved to b', async () => bucket('b').includes('a-2'));
      expect(bucket('a')).toEqual(['a-1']);
      await client.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a-1', namespace: ns.name } });
      await waitUntil('a-1 gone', async () => bucket('a').length === 0);
      expect(bucket('b')).toEqual(['a-2', 'b-1']);
      // What the task caches keep: the object without its field managers.
      const cached = pods.get(ns.name, 'b-1')!;
      const served = await client.get<KubeObject>('v1', 'Pod', ns.name, 'b-1');
      expect((served.metadata.managedFields as unknown[] | undefined)?.length).toBeGreaterThan(0);
      expect(cached.metadata.managedFields).toBeUndefined();
      const bytes = (o: KubeObject) => Buffer.byteLength(JSON.stringify(o));
      console.log(`a cached Pod: ${bytes(cached)} bytes, ${bytes(served)} as served`);
      expect(bytes(cached)).toBeLessThan(bytes(served));
      expect(pods.byIndex(runBucket(ns.name, 'a'))).toEqual([]);
    } finally {
      await pods.stop();
    }
  });
});

describe(`a one-task run among ${OTHERS} other cached Pods`, () => {
  it('reads one task object per reconcile', async () => {
    for (let i = 0; i < OTHERS; i++) await client.create(pod(`other-${i}`, 'elsewhere'));
    const metrics = createMetrics();
    const watcher: Watcher = await startWatcher({ namespace: ns.name, metrics });
    try {
      const { config, run, tasks } = synthRun(ns.name, { name: 'small', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
      await applyAsGitOps([config, run, ...tasks]);
      await waitForRun(client, ns.name, 'small-r1', 'its task seen', (r) => r.status?.tasks?.[0]?.uid !== undefined);
      await finishPod(ns.name, tasks[0]!.metadata.name, 'Succeeded');
      await waitForRun(client, ns.name, 'small-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
      const reconciles = await registryValue(metrics, 'taskplane_reconciles_total');
      const read = await registryValue(metrics, 'taskplane_task_objects_read_total');
      console.log(`${reconciles} reconciles read ${read} task objects with ${OTHERS + 1} Pods cached`);
      expect(reconciles).toBeGreaterThanOrEqual(2);
      // A scan would read all of them each time: at least OTHERS + 1 per reconcile.
      expect(read).toBeLessThanOrEqual(reconciles);
      expect(read).toBeGreaterThan(0);
    } finally {
      await watcher.stop();
    }
  }, 300_000);
});

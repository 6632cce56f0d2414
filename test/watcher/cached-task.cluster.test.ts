/**
 * A kill computed from a trimmed cached object (watcher/cached-task.ts) patches the live object on a
 * real API server as a kill from the whole object would: the same patch, on the right object, and
 * nothing else of the object changes. For Pods and Jobs, read through a Reflector as the task caches do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutor } from '../../engine/executors/job.js';
import { podExecutor } from '../../engine/executors/pod.js';
import type { Executor, LiveTask } from '../../engine/executors/types.js';
import { ANNOTATION_PARALLEL_INDEX, LABEL_RETRY_INDEX, LABEL_RUN } from '../../engine/labels.js';
import { cachedTask } from '../../watcher/cached-task.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { Reflector } from '../../watcher/kube/reflector.js';
import { createNamespace, waitUntil, type TestNamespace } from '../cluster/client.js';
import { runningStatus } from '../cluster/kubelet.js';
import { podTask, testClient } from './helpers.js';

const client = testClient();
const kubelet = testClient();
let ns: TestNamespace;

beforeAll(async () => {
  ns = await createNamespace('tp-cached-task');
});

afterAll(async () => {
  await ns?.delete();
});

const metadata = (name: string) => ({
  name,
  namespace: ns.name,
  labels: { [LABEL_RUN]: 'nightly-r1', [LABEL_RETRY_INDEX]: '0' },
  annotations: { [ANNOTATION_PARALLEL_INDEX]: '{"indexNumber":0}', 'example.com/owner': 'data-team' },
});

type Spec = Record<string, unknown>;
const CASES: { kind: string; apiVersion: string; executor: Executor<unknown>; object: () => KubeObject; status: (object: KubeObject) => object }[] = [
  {
    kind: 'Pod',
    apiVersion: 'v1',
    executor: podExecutor as Executor<unknown>,
    object: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: metadata('kill-pod'), spec: podTask() }) as KubeObject,
    status: (object) => runningStatus(object as never),
  },
  {
    kind: 'Job',
    apiVersion: 'batch/v1',
    executor: jobExecutor as Executor<unknown>,
    object: () =>
      // managedBy: the built-in job controller leaves this Job to the test, which writes its status (else the
      // controller sets status.startTime first, immutable once set, and races the test's status write).
      ({ apiVersion: 'batch/v1', kind: 'Job', metadata: metadata('kill-job'), spec: { backoffLimit: 0, managedBy: 'example.com/test-controller', template: { spec: { ...podTask(), restartPolicy: 'Never' } } } }) as KubeObject,
    status: () => ({ startTime: new Date(Date.now() - 90_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), active: 1, ready: 1 }),
  },
];

describe.each(CASES)('killing a $kind read from a trimmed cache', ({ kind, apiVersion, executor, object, status }) => {
  it('patches the live object as the whole object would, and only the deadline', async () => {
    const created = await client.create<KubeObject>(object());
    await kubelet.mergePatch(created, { status: status(created) }, 'status');
    const cache = new Reflector<KubeObject>(client, { apiVersion, kind, namespace: ns.name, labelSelector: LABEL_RUN, transform: cachedTask(apiVersion, kind) });
    cache.start();
    try {
      await waitUntil(`the ${kind} running in the cache`, async () => executor.observe({ object: cache.get(ns.name, created.metadata.name) as never, createdByWatcher: false }, {}).state === 'Running');
      const cached = cache.get(ns.name, created.metadata.name)!;
      const whole = await client.get<KubeObject & { spec: Spec }>(apiVersion, kind, ns.name, created.metadata.name);
      expect(cached.metadata.managedFields).toBeUndefined();
      expect(JSON.stringify(cached).length).toBeLessThan(JSON.stringify(whole).length / 2);

      const now = new Date();
      const live = (o: KubeObject): LiveTask => ({ object: o as LiveTask['object'], createdByWatcher: false });
      const action = executor.kill(live(cached), {}, now);
      expect(action).toEqual(executor.kill(live(whole), {}, now));
      if (action.kind !== 'mergePatch') throw new Error(`expected a patch, got ${JSON.stringify(action)}`);
      // The watcher's kill path: the patch goes to the object the cache names (controller.ts killTask).
      await client.mergePatch(cached, action.patch);

      const after = await client.get<KubeObject & { spec: Spec }>(apiVersion, kind, ns.name, created.metadata.name);
      expect(after.metadata.uid).toBe(whole.metadata.uid);
      expect(after.spec.activeDeadlineSeconds).toBe((action.patch.spec as Spec).activeDeadlineSeconds);
      expect(after.spec.activeDeadlineSeconds).toBeGreaterThan(0);
      // Nothing else changed: the rest of the spec, labels and annotations are as they were.
      const { activeDeadlineSeconds: _a, ...restAfter } = after.spec;
      const { activeDeadlineSeconds: _w, ...restWhole } = whole.spec;
      expect(restAfter).toEqual(restWhole);
      expect(after.metadata.labels).toEqual(whole.metadata.labels);
      expect(after.metadata.annotations).toEqual(whole.metadata.annotations);
    } finally {
      await cache.stop();
    }
  });
});

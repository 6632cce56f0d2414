/**
 * The reflector's list, with a fake client: each page goes into the cache, transformed, before the next
 * page is asked for, so a list of 100,000 objects never holds more than one page of whole objects
 * (it held every page until the last one came: the start-up peak of a watcher at scale). And a
 * reconcile waits for a long list that makes progress, however long it takes, but not for silence.
 */
import { describe, expect, it } from 'vitest';
import { LABEL_RUN } from '../../engine/labels.js';
import type { KubeClient, KubeObject } from '../../watcher/kube/client.js';
import { Reflector } from '../../watcher/kube/reflector.js';
import { TaskCaches, TaskCacheUnavailable } from '../../watcher/task-caches.js';

const PAGES = 4;
const PER_PAGE = 3;

/** A list of `pages` pages, each answered after `delayMs` (never, for Infinity). */
function fakeClient(log: string[], { pages = PAGES, delayMs = 0 } = {}): KubeClient {
  return {
    async list(_apiVersion: string, _kind: string, query: { continue?: string }) {
      const page = Number(query.continue ?? 0);
      log.push(`list page ${page}`);
      if (delayMs > 0) await new Promise((resolve) => (delayMs === Infinity ? undefined : setTimeout(resolve, delayMs)));
      const items = Array.from({ length: PER_PAGE }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${page}-${i}`, namespace: 'batch', resourceVersion: '7', labels: { [LABEL_RUN]: 'r' }, managedFields: [{ manager: 'x' }] },
        spec: { big: 'x'.repeat(1000) },
      }));
      return { items, metadata: { resourceVersion: '7', continue: page + 1 < pages ? String(page + 1) : '' } };
    },
    // No watch in this test: the reflector retries after its list, and stop() ends the wait.
    path: () => Promise.reject(new Error('no watch here')),
  } as unknown as KubeClient;
}

describe('a reflector listing in pages', () => {
  it(`caches each page, transformed, before it asks for the next (${PAGES} pages of ${PER_PAGE})`, async () => {
    const log: string[] = [];
    const reflector = new Reflector<KubeObject>(fakeClient(log), {
      apiVersion: 'v1',
      kind: 'Pod',
      transform: <O extends KubeObject>(object: O) => {
        log.push(`transform ${object.metadata.name}`);
        return { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, namespace: object.metadata.namespace, resourceVersion: object.metadata.resourceVersion } } as O;
      },
    });
    reflector.on('synced', () => log.push('synced'));
    reflector.start();
    await reflector.waitForSync();
    await reflector.stop();
    const expected = Array.from({ length: PAGES }, (_, page) => [`list page ${page}`, ...Array.from({ length: PER_PAGE }, (_, i) => `transform p${page}-${i}`)]).flat();
    expect(log).toEqual([...expected, 'synced']);
    expect(reflector.list()).toHaveLength(PAGES * PER_PAGE);
    expect(reflector.list().every((o) => !('spec' in o) && !o.metadata.managedFields)).toBe(true);
  });
});

describe('a reconcile waiting for the first list of a task kind', () => {
  const SILENCE_MS = 100;
  const caches = (client: KubeClient) => new TaskCaches(client, { namespace: 'batch', syncTimeoutMs: SILENCE_MS, onChange: () => {}, onRetry: () => {} });

  it(`waits for a list that takes ${10 * 40} ms in all, longer than the ${SILENCE_MS} ms limit, as its pages keep coming`, async () => {
    const log: string[] = [];
    const tasks = caches(fakeClient(log, { pages: 10, delayMs: 40 }));
    try {
      const objects = await tasks.objects({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'batch', name: 'r' });
      expect(objects).toHaveLength(10 * PER_PAGE);
    } finally {
      await tasks.stop();
    }
  });

  it(`gives up after ${SILENCE_MS} ms without a page`, async () => {
    const tasks = caches(fakeClient([], { pages: 10, delayMs: Infinity }));
    try {
      await expect(tasks.objects({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'batch', name: 'r' })).rejects.toThrow(TaskCacheUnavailable);
    } finally {
      void tasks.stop();
    }
  });
});

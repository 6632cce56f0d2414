/**
 * The reflector's list, with a fake client: each page goes into the cache, transformed, before the next
 * page is asked for, so a list of 100,000 objects never holds more than one page of whole objects
 * (it held every page until the last one came: the start-up peak of a watcher at scale).
 */
import { describe, expect, it } from 'vitest';
import type { KubeClient, KubeObject } from '../../watcher/kube/client.js';
import { Reflector } from '../../watcher/kube/reflector.js';

const PAGES = 4;
const PER_PAGE = 3;

function fakeClient(log: string[]): KubeClient {
  return {
    async list(_apiVersion: string, _kind: string, query: { continue?: string }) {
      const page = Number(query.continue ?? 0);
      log.push(`list page ${page}`);
      const items = Array.from({ length: PER_PAGE }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${page}-${i}`, namespace: 'batch', resourceVersion: '7', managedFields: [{ manager: 'x' }] },
        spec: { big: 'x'.repeat(1000) },
      }));
      return { items, metadata: { resourceVersion: '7', continue: page + 1 < PAGES ? String(page + 1) : '' } };
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

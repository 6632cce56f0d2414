/**
 * The HTTP runner's ordering and recovery with a scripted API: `Starting` is written before the request
 * is sent, an API error on the outcome write is retried until the outcome lands, and a task whose
 * `Starting` write failed is looked at again and sent once.
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { HttpTaskStatus } from '../../engine/schema/http.js';
import type { HttpClient, OutgoingRequest } from '../../watcher/http-client.js';
import { HttpRunner, type HttpTaskObject } from '../../watcher/http-runner.js';
import { ApiError, type KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import type { Reflector } from '../../watcher/kube/reflector.js';

const task = (): HttpTaskObject => ({
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'HttpTask',
  metadata: { name: 't-0-0', namespace: 'ns', resourceVersion: '1', labels: { 'taskplane.dev/run': 't' } },
  spec: { request: { method: 'GET', url: 'http://a.svc/' } },
});

/** An API that records status writes and fails (500) the ones whose position is in `failures`. */
function setup(failures: number[], { owns = () => true, send }: { owns?: () => boolean; send?: (request: OutgoingRequest, signal: AbortSignal) => Promise<unknown> } = {}) {
  const writes: (HttpTaskStatus & { ok: boolean })[] = [];
  const events: string[] = [];
  let version = 1;
  let current = task();
  const cache = Object.assign(new EventEmitter(), {
    list: () => [current],
    get: () => current,
  });
  const client = {
    apply: async (object: KubeObject & { status: HttpTaskStatus }) => {
      const n = writes.length;
      const ok = !failures.includes(n);
      writes.push({ ...object.status, ok });
      events.push(`write ${object.status.state}${ok ? '' : ' (500)'}`);
      if (!ok) throw new ApiError(500, 'InternalError', 'etcd timeout');
      if (object.metadata.resourceVersion !== current.metadata.resourceVersion) throw new ApiError(409, 'Conflict', 'conflict');
      current = { ...current, metadata: { ...current.metadata, resourceVersion: String(++version) }, status: object.status };
      return current;
    },
    get: async () => current,
  } as unknown as KubeClient;
  const http = {
    send: async (request: OutgoingRequest, signal: AbortSignal) => {
      events.push('send');
      if (send) return send(request, signal);
      return { status: 200, headers: {}, body: '{"ok":true}' };
    },
  } as unknown as HttpClient;
  const runner = new HttpRunner({
    client,
    tasks: cache as unknown as Reflector<KubeObject>,
    http,
    logger: pino({ level: 'silent' }),
    clock: { now: () => new Date('2026-01-01T00:00:00Z') },
    identity: 'w/1',
    owns,
    admit: () => ({ decision: 'send' }),
  });
  return { runner, cache, events, state: () => current.status };
}

const until = async (condition: () => boolean, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('HttpRunner', () => {
  it('records Starting before it sends, then the outcome', async () => {
    const { runner, cache, events, state } = setup([]);
    cache.emit('add', cache.get());
    await until(() => state()?.state === 'Succeeded');
    expect(events).toEqual(['write Starting', 'send', 'write Succeeded']);
    expect(state()).toMatchObject({ executor: 'w/1', statusCode: 200, result: '{"ok":true}' });
    await runner.stop();
  });

  it('an API error on the outcome write is retried: the outcome lands, the request is not sent again', async () => {
    const { runner, cache, events, state } = setup([1, 2]);
    cache.emit('add', cache.get());
    await until(() => state()?.state === 'Succeeded');
    expect(events).toEqual(['write Starting', 'send', 'write Succeeded (500)', 'write Succeeded (500)', 'write Succeeded']);
    await runner.stop();
  });

  it('a Starting write that failed is looked at again and the request sent once', async () => {
    const { runner, cache, events, state } = setup([0]);
    cache.emit('add', cache.get());
    await until(() => state()?.state === 'Succeeded');
    expect(events).toEqual(['write Starting (500)', 'write Starting', 'send', 'write Succeeded']);
    await runner.stop();
  });

  it('sends only tasks of shards it holds; a shard lost aborts its request in flight and writes nothing more', async () => {
    let owned = false;
    const aborted: unknown[] = [];
    const hang = (_: OutgoingRequest, signal: AbortSignal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => (aborted.push(signal.reason), reject(signal.reason))));
    const { runner, cache, events } = setup([], { owns: () => owned, send: hang });
    cache.emit('add', cache.get());
    runner.lead();
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([]);

    owned = true;
    runner.lead();
    await until(() => events.includes('send'));
    runner.abandon();
    expect(aborted).toEqual([]);
    owned = false;
    runner.abandon();
    await until(() => aborted.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['write Starting', 'send']);
    await runner.stop();
  });

  it("another process's Starting is ExecutorLost; nothing is sent", async () => {
    const { runner, cache, events, state } = setup([]);
    const lost = { ...cache.get(), status: { state: 'Starting' as const, executor: 'w/0', startTime: '2026-01-01T00:00:00Z' } };
    cache.get = () => lost;
    cache.list = () => [lost];
    cache.emit('add', lost);
    await until(() => events.length > 0);
    expect(events).toEqual(['write Failed']);
    expect(state()).toMatchObject({ state: 'Failed', reason: 'ExecutorLost', executor: 'w/0' });
    await runner.stop();
  });
});

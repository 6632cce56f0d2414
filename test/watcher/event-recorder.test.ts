/**
 * EventRecorder (watcher/event-recorder.ts) against a fake API that keeps the Events it is sent: what
 * client-go's recorder does with repeated and similar events, and that nothing is lost on the way.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../watcher/clock.js';
import { AGGREGATE_AFTER, AGGREGATE_WINDOW_MS, EventRecorder, type EventSpec } from '../../watcher/event-recorder.js';
import { ApiError, type KubeClient, type KubeObject } from '../../watcher/kube/client.js';

interface StoredEvent {
  name: string;
  reason: string;
  type: string;
  message: string;
  count: number;
  lastTimestamp: string;
}

function fakeApi() {
  const stored = new Map<string, StoredEvent>();
  const writes: string[] = [];
  /** Every write waits for this (a slow or hung API server) and fails while `failing` is set. */
  const api = { gate: Promise.resolve(), failing: undefined as ApiError | undefined };
  const answer = async () => {
    await api.gate;
    if (api.failing) throw api.failing;
  };
  const client = {
    create: async (object: KubeObject & Omit<StoredEvent, 'name'>) => {
      await answer();
      writes.push('create');
      stored.set(object.metadata.name, { name: object.metadata.name, reason: object.reason, type: object.type, message: object.message, count: object.count, lastTimestamp: object.lastTimestamp });
      return object;
    },
    mergePatch: async (object: KubeObject, patch: Partial<StoredEvent>) => {
      await answer();
      writes.push('patch');
      const event = stored.get(object.metadata.name);
      if (!event) throw new ApiError(404, 'NotFound', 'events not found');
      Object.assign(event, patch);
      return object;
    },
  } as unknown as KubeClient;
  return { client, stored, writes, api };
}

const run = { apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobRun', metadata: { name: 'nightly-r1', namespace: 'batch', uid: 'run-uid' } } as KubeObject;
const finished = (i: number): EventSpec => ({ type: 'Warning', reason: 'TaskFinished', message: `Task nightly-r1-${i}-0 finished: Failed (Error)` });
const occurrences = (stored: Map<string, StoredEvent>, reason: string) => [...stored.values()].filter((e) => e.reason === reason).reduce((sum, e) => sum + e.count, 0);

function setup() {
  const clock = new ManualClock(new Date('2026-11-21T00:00:00Z'));
  const api = fakeApi();
  return { clock, ...api, recorder: new EventRecorder(api.client, clock, 'taskplane-watcher', pino({ level: 'silent' })) };
}

describe('EventRecorder', () => {
  it(`keeps ${AGGREGATE_AFTER} distinct messages of a reason as their own Events; the rest go to one combined Event with their count`, async () => {
    const { recorder, stored, writes } = setup();
    for (let i = 0; i < 100; i++) {
      recorder.record(run, [finished(i)]);
      await recorder.flush();
    }
    const events = [...stored.values()];
    expect(events).toHaveLength(AGGREGATE_AFTER + 1);
    const combined = events.filter((e) => e.message.startsWith('(combined from similar events): '));
    expect(combined).toEqual([expect.objectContaining({ count: 100 - AGGREGATE_AFTER, message: `(combined from similar events): ${finished(99).message}` })]);
    expect(occurrences(stored, 'TaskFinished')).toBe(100);
    // One write per record call here (each flushed before the next): 11 creates, 89 patches.
    expect(writes.filter((w) => w === 'create')).toHaveLength(AGGREGATE_AFTER + 1);
  });

  it('coalesces a batch: one write per Event, whatever the occurrences', async () => {
    const { recorder, stored, writes } = setup();
    recorder.record(run, Array.from({ length: 1000 }, (_, i) => finished(i)));
    await recorder.flush();
    expect(writes).toHaveLength(AGGREGATE_AFTER + 1);
    expect(occurrences(stored, 'TaskFinished')).toBe(1000);
    recorder.record(run, Array.from({ length: 500 }, (_, i) => finished(1000 + i)));
    await recorder.flush();
    expect(writes).toEqual([...Array.from({ length: AGGREGATE_AFTER + 1 }, () => 'create'), 'patch']);
    expect(occurrences(stored, 'TaskFinished')).toBe(1500);
  });

  it('an identical event raises its Event\'s count and lastTimestamp; another reason or type is aggregated apart', async () => {
    const { clock, recorder, stored } = setup();
    const stuck: EventSpec = { type: 'Warning', reason: 'ReconcileError', message: 'the API server answered 500' };
    recorder.record(run, [stuck]);
    await recorder.flush();
    clock.advance(30_000);
    recorder.record(run, [stuck, { ...stuck, type: 'Normal' }, { type: 'Normal', reason: 'Started', message: 'Run started' }]);
    await recorder.flush();
    expect([...stored.values()].map((e) => [e.type, e.reason, e.count])).toEqual([
      ['Warning', 'ReconcileError', 2],
      ['Normal', 'ReconcileError', 1],
      ['Normal', 'Started', 1],
    ]);
    expect([...stored.values()][0]!.lastTimestamp).toBe('2026-11-21T00:00:30.000Z');
  });

  it(`aggregates within ${AGGREGATE_WINDOW_MS / 60_000} minutes: later, new messages get their own Events again`, async () => {
    const { clock, recorder, stored } = setup();
    recorder.record(run, Array.from({ length: AGGREGATE_AFTER }, (_, i) => finished(i)));
    await recorder.flush();
    clock.advance(AGGREGATE_WINDOW_MS + 1);
    recorder.record(run, [finished(AGGREGATE_AFTER)]);
    await recorder.flush();
    expect([...stored.values()].some((e) => e.message.startsWith('(combined'))).toBe(false);
    expect(stored.size).toBe(AGGREGATE_AFTER + 1);
  });

  it('an Event gone from the API (expired, deleted) is created again: the occurrence is not lost', async () => {
    const { recorder, stored } = setup();
    const stuck: EventSpec = { type: 'Warning', reason: 'ReconcileError', message: 'boom' };
    recorder.record(run, [stuck]);
    await recorder.flush();
    stored.clear();
    recorder.record(run, [stuck]);
    await recorder.flush();
    expect([...stored.values()].map((e) => e.count)).toEqual([1]);
  });

  it('returns before the API answers; what is recorded while a write is in flight is written once, with every occurrence', async () => {
    const { api, recorder, stored, writes } = setup();
    let answer!: () => void;
    api.gate = new Promise((resolve) => (answer = resolve));
    const stuck: EventSpec = { type: 'Warning', reason: 'ReconcileError', message: 'the API server answered 500' };
    recorder.record(run, [stuck]);
    // 50 reconciles record the same event while the first write hangs: none of them waits.
    for (let i = 0; i < 50; i++) recorder.record(run, [stuck]);
    expect(writes).toEqual([]);
    answer();
    await recorder.flush();
    expect(writes).toEqual(['create', 'patch']);
    expect([...stored.values()].map((e) => e.count)).toEqual([51]);
  });

  it('an outage delays events and loses none: failed writes are kept and written once the API answers', async () => {
    const { api, recorder, stored } = setup();
    api.failing = new ApiError(503, 'ServiceUnavailable', 'etcd leader changed');
    recorder.record(run, Array.from({ length: 3 }, (_, i) => finished(i)));
    await recorder.flush();
    recorder.record(run, [finished(0)]);
    await recorder.flush();
    expect(stored.size).toBe(0);
    api.failing = undefined;
    await recorder.flush();
    expect([...stored.values()].map((e) => [e.message, e.count])).toEqual([
      [finished(0).message, 2],
      [finished(1).message, 1],
      [finished(2).message, 1],
    ]);
  });

  it('an Event the API server refuses for itself (403, 422) is not retried', async () => {
    const { api, recorder, writes } = setup();
    api.failing = new ApiError(403, 'Forbidden', 'events is forbidden');
    recorder.record(run, [finished(0)]);
    await recorder.flush();
    api.failing = undefined;
    await recorder.flush();
    expect(writes).toEqual([]);
  });
});

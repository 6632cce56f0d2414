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
  const client = {
    create: async (object: KubeObject & Omit<StoredEvent, 'name'>) => {
      writes.push('create');
      stored.set(object.metadata.name, { name: object.metadata.name, reason: object.reason, type: object.type, message: object.message, count: object.count, lastTimestamp: object.lastTimestamp });
      return object;
    },
    mergePatch: async (object: KubeObject, patch: Partial<StoredEvent>) => {
      writes.push('patch');
      const event = stored.get(object.metadata.name);
      if (!event) throw new ApiError(404, 'NotFound', 'events not found');
      Object.assign(event, patch);
      return object;
    },
  } as unknown as KubeClient;
  return { client, stored, writes };
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
    for (let i = 0; i < 100; i++) await recorder.record(run, [finished(i)]);
    const events = [...stored.values()];
    expect(events).toHaveLength(AGGREGATE_AFTER + 1);
    const combined = events.filter((e) => e.message.startsWith('(combined from similar events): '));
    expect(combined).toEqual([expect.objectContaining({ count: 100 - AGGREGATE_AFTER, message: `(combined from similar events): ${finished(99).message}` })]);
    expect(occurrences(stored, 'TaskFinished')).toBe(100);
    // One write per record call here (each call is its own batch): 11 creates, 89 patches.
    expect(writes.filter((w) => w === 'create')).toHaveLength(AGGREGATE_AFTER + 1);
  });

  it('coalesces a batch: one write per Event, whatever the occurrences', async () => {
    const { recorder, stored, writes } = setup();
    await recorder.record(run, Array.from({ length: 1000 }, (_, i) => finished(i)));
    expect(writes).toHaveLength(AGGREGATE_AFTER + 1);
    expect(occurrences(stored, 'TaskFinished')).toBe(1000);
    await recorder.record(run, Array.from({ length: 500 }, (_, i) => finished(1000 + i)));
    expect(writes).toEqual([...Array.from({ length: AGGREGATE_AFTER + 1 }, () => 'create'), 'patch']);
    expect(occurrences(stored, 'TaskFinished')).toBe(1500);
  });

  it('an identical event raises its Event\'s count and lastTimestamp; another reason or type is aggregated apart', async () => {
    const { clock, recorder, stored } = setup();
    const stuck: EventSpec = { type: 'Warning', reason: 'ReconcileError', message: 'the API server answered 500' };
    await recorder.record(run, [stuck]);
    clock.advance(30_000);
    await recorder.record(run, [stuck, { ...stuck, type: 'Normal' }, { type: 'Normal', reason: 'Started', message: 'Run started' }]);
    expect([...stored.values()].map((e) => [e.type, e.reason, e.count])).toEqual([
      ['Warning', 'ReconcileError', 2],
      ['Normal', 'ReconcileError', 1],
      ['Normal', 'Started', 1],
    ]);
    expect([...stored.values()][0]!.lastTimestamp).toBe('2026-11-21T00:00:30.000Z');
  });

  it(`aggregates within ${AGGREGATE_WINDOW_MS / 60_000} minutes: later, new messages get their own Events again`, async () => {
    const { clock, recorder, stored } = setup();
    await recorder.record(run, Array.from({ length: AGGREGATE_AFTER }, (_, i) => finished(i)));
    clock.advance(AGGREGATE_WINDOW_MS + 1);
    await recorder.record(run, [finished(AGGREGATE_AFTER)]);
    expect([...stored.values()].some((e) => e.message.startsWith('(combined'))).toBe(false);
    expect(stored.size).toBe(AGGREGATE_AFTER + 1);
  });

  it('an Event gone from the API (expired, deleted) is created again: the occurrence is not lost', async () => {
    const { recorder, stored } = setup();
    const stuck: EventSpec = { type: 'Warning', reason: 'ReconcileError', message: 'boom' };
    await recorder.record(run, [stuck]);
    stored.clear();
    await recorder.record(run, [stuck]);
    expect([...stored.values()].map((e) => e.count)).toEqual([1]);
  });

  it('an aborted reconcile writes nothing more', async () => {
    const { recorder, writes } = setup();
    const controller = new AbortController();
    controller.abort(new Error('lost leadership'));
    await expect(recorder.record(run, [finished(0)], controller.signal)).rejects.toThrow('lost leadership');
    expect(writes).toEqual([]);
  });
});

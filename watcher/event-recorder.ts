/**
 * Events the way client-go's recorder writes them (tools/record/events_cache.go), so that a run of
 * thousands of tasks does not cost an Event object per transition:
 * - an event repeated with the same message patches its Event's `count` and `lastTimestamp`;
 * - past AGGREGATE_AFTER distinct messages of one (object, type, reason) within AGGREGATE_WINDOW_MS,
 *   the rest go to one "(combined from similar events)" Event with the latest message and a count;
 * - the events of one batch (a reconcile's) are coalesced first: one write per Event, whatever the
 *   number of occurrences.
 * Nothing is dropped (client-go's spam filter drops; a Warning here always lands as an Event or in
 * one's count). Memory is bounded: the caches forget the least recently used keys past MAX_KEYS.
 */
import type { Logger } from 'pino';
import { GROUP_VERSION } from '../engine/schema/resources.js';
import type { Clock } from './clock.js';
import { isNotFound, type KubeClient, type KubeObject } from './kube/client.js';

export const AGGREGATE_AFTER = 10;
export const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_KEYS = 4096;
const COMBINED = '(combined from similar events): ';

export interface EventSpec {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

interface Similar {
  readonly messages: Set<string>;
  readonly since: number;
}

interface Written {
  readonly name: string;
  readonly count: number;
}

/** A Map that forgets its least recently used entries past `limit`. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly limit: number) {}
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as K);
  }
}

export class EventRecorder {
  private readonly similar = new Lru<string, Similar>(MAX_KEYS);
  private readonly written = new Lru<string, Written>(MAX_KEYS);

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Clock,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  /** Records `events` about `object`, one write per distinct Event. Best effort: a run's status is the record. */
  async record(object: KubeObject, events: readonly EventSpec[], signal?: AbortSignal): Promise<void> {
    if (events.length === 0) return;
    const now = this.clock.now();
    const batch = new Map<string, { event: EventSpec; occurrences: number }>();
    for (const event of events) {
      const { key, message } = this.aggregate(object, event, now.getTime());
      batch.set(key, { event: { ...event, message }, occurrences: (batch.get(key)?.occurrences ?? 0) + 1 });
    }
    for (const [key, { event, occurrences }] of batch) {
      signal?.throwIfAborted();
      try {
        await this.write(object, key, event, occurrences, now.toISOString(), signal);
      } catch (error) {
        this.logger.debug({ err: (error as Error).message, reason: event.reason }, 'event not recorded');
      }
    }
  }

  /** The Event an occurrence belongs to: its own message's, or its (object, type, reason)'s combined one. */
  private aggregate(object: KubeObject, event: EventSpec, now: number): { key: string; message: string } {
    const similarKey = JSON.stringify([object.metadata.uid ?? object.metadata.name, object.kind, event.type, event.reason]);
    let similar = this.similar.get(similarKey);
    if (!similar || now - similar.since > AGGREGATE_WINDOW_MS) similar = { messages: new Set(), since: now };
    this.similar.set(similarKey, similar);
    if (similar.messages.has(event.message) || similar.messages.size < AGGREGATE_AFTER) {
      similar.messages.add(event.message);
      return { key: `${similarKey}${event.message}`, message: event.message };
    }
    return { key: `${similarKey}${COMBINED}`, message: `${COMBINED}${event.message}` };
  }

  private async write(object: KubeObject, key: string, event: EventSpec, occurrences: number, now: string, signal?: AbortSignal): Promise<void> {
    const before = this.written.get(key);
    if (before) {
      const count = before.count + occurrences;
      try {
        await this.client.mergePatch({ apiVersion: 'v1', kind: 'Event', metadata: { name: before.name, namespace: object.metadata.namespace } }, { count, lastTimestamp: now, message: event.message }, undefined, signal);
        this.written.set(key, { ...before, count });
        return;
      } catch (error) {
        // Expired (Events live an hour) or deleted: a new one starts the count again.
        if (!isNotFound(error)) throw error;
      }
    }
    const name = `${object.metadata.name}.${process.hrtime.bigint().toString(16).padStart(16, '0')}`;
    await this.client.create(
      {
        apiVersion: 'v1',
        kind: 'Event',
        // Named like client-go's recorder: the object's name and a unique hex suffix (fixed width, so names sort by time).
        metadata: { name, namespace: object.metadata.namespace },
        involvedObject: { apiVersion: GROUP_VERSION, kind: object.kind, name: object.metadata.name, namespace: object.metadata.namespace, uid: object.metadata.uid },
        type: event.type,
        reason: event.reason,
        message: event.message,
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: occurrences,
      } as KubeObject,
      signal,
    );
    this.written.set(key, { name, count: occurrences });
  }
}

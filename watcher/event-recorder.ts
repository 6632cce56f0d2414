/**
 * Events the way client-go's recorder writes them (tools/record/events_cache.go), so that a run of
 * thousands of tasks does not cost an Event object per transition:
 * - an event repeated with the same message patches its Event's `count` and `lastTimestamp`;
 * - past AGGREGATE_AFTER distinct messages of one (object, type, reason) within AGGREGATE_WINDOW_MS,
 *   the rest go to one "(combined from similar events)" Event with the latest message and a count;
 * - writes happen off the caller's path, and everything recorded while earlier writes were in flight
 *   is coalesced: one write per Event, whatever the number of occurrences;
 * - a failed write keeps its occurrences for the next attempt (backing off), so an outage delays an
 *   event and does not lose it.
 * Nothing is dropped (client-go's spam filter drops; a Warning here always lands as an Event or in
 * one's count). Memory is bounded: the caches forget the least recently used keys past MAX_KEYS.
 */
import type { Logger } from 'pino';
import { GROUP_VERSION } from '../engine/schema/resources.js';
import type { Clock } from './clock.js';
import { isNotFound, isRefused, type KubeClient, type KubeObject } from './kube/client.js';

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

interface Pending {
  readonly object: KubeObject;
  readonly event: EventSpec;
  occurrences: number;
  /** When the latest occurrence was recorded: the Event's lastTimestamp. */
  at: string;
}

/** Event writes in flight at once while draining. */
const WRITERS = 8;
/** After a failed write the drain pauses this long, doubling up to MAX_RETRY_DELAY_MS, before writing again. */
const RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 30_000;

export class EventRecorder {
  private readonly similar = new Lru<string, Similar>(MAX_KEYS);
  private readonly written = new Lru<string, Written>(MAX_KEYS);
  /** Occurrences not written yet, by Event: what piles up while writes are in flight is written once. */
  private pending = new Map<string, Pending>();
  private draining?: Promise<void>;
  private retryDelayMs = 0;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Clock,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Records `events` about `object` and returns at once: a background drain writes them, one write
   * per distinct Event for everything recorded since its last write (as client-go's broadcaster
   * writes off the caller's path). Best effort: a run's status is the record.
   */
  record(object: KubeObject, events: readonly EventSpec[]): void {
    if (events.length === 0) return;
    const now = this.clock.now();
    for (const event of events) {
      const { key, message } = this.aggregate(object, event, now.getTime());
      this.enqueue(key, { object, event: { ...event, message }, occurrences: 1, at: now.toISOString() });
    }
    this.drainSoon();
  }

  /** Resolves once everything recorded so far has been written, or tried once more (a clean stop). */
  async flush(): Promise<void> {
    await this.draining;
    // What waits out a retry delay is tried now.
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.drainSoon();
    await this.draining;
  }

  /** Flushes, then stops retrying. */
  async stop(): Promise<void> {
    await this.flush();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private enqueue(key: string, occurrence: Pending): void {
    const before = this.pending.get(key);
    if (before) {
      before.occurrences += occurrence.occurrences;
      before.at = occurrence.at > before.at ? occurrence.at : before.at;
    } else this.pending.set(key, occurrence);
  }

  private drainSoon(): void {
    if (this.draining || this.retryTimer || this.pending.size === 0) return;
    const draining = this.drain().finally(() => {
      if (this.draining === draining) this.draining = undefined;
    });
    this.draining = draining;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending];
      this.pending = new Map();
      let failed = false;
      for (let i = 0; i < batch.length; i += WRITERS) {
        await Promise.all(
          batch.slice(i, i + WRITERS).map(async ([key, pending]) => {
            try {
              await this.write(key, pending);
            } catch (error) {
              if (isRefused(error)) {
                this.logger.warn({ err: (error as Error).message, reason: pending.event.reason }, 'event refused by the API server');
                return;
              }
              failed = true;
              // Kept for the next drain: an outage delays a Warning, it does not lose it.
              this.enqueue(key, pending);
              this.logger.debug({ err: (error as Error).message, reason: pending.event.reason }, 'event not recorded yet; will retry');
            }
          }),
        );
      }
      if (failed) {
        this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, this.retryDelayMs ? this.retryDelayMs * 2 : RETRY_DELAY_MS);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.drainSoon();
        }, this.retryDelayMs);
        this.retryTimer.unref();
        return;
      }
      this.retryDelayMs = 0;
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

  private async write(key: string, { object, event, occurrences, at: now }: Pending): Promise<void> {
    const before = this.written.get(key);
    if (before) {
      const count = before.count + occurrences;
      try {
        await this.client.mergePatch({ apiVersion: 'v1', kind: 'Event', metadata: { name: before.name, namespace: object.metadata.namespace } }, { count, lastTimestamp: now, message: event.message });
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
    );
    this.written.set(key, { name, count: occurrences });
  }
}

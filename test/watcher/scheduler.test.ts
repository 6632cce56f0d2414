/**
 * The scheduler's decisions with the cache held still: fake reflectors that do not see what the
 * scheduler creates until the test says so (the informer lag the cluster tests cannot force), and a
 * fake client that records requests. Complements schedule.cluster.test.ts.
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobConfigObject, JobRunObject } from '../../engine/schema/resources.js';
import { runConfigBucket } from '../../watcher/cache-indexes.js';
import { ManualClock } from '../../watcher/clock.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { Scheduler, type SchedulerPolicy } from '../../watcher/scheduler.js';

type Run = JobRunObject & KubeObject;
type Config = JobConfigObject & KubeObject;

class FakeCache<T extends KubeObject> extends EventEmitter {
  readonly objects: T[] = [];
  /** Objects the informer delivers (the scheduler's own creates are not, until a test adds them). */
  add(...objects: T[]): void {
    for (const object of objects) {
      this.objects.push(object);
      this.emit('add', object);
    }
  }
  list(): T[] {
    return [...this.objects];
  }
  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.find((o) => o.metadata.namespace === namespace && o.metadata.name === name);
  }
  /** The runs cache is indexed by config (watcher/cache-indexes.ts). */
  byIndex(value: string): T[] {
    return this.objects.filter((o) => runConfigBucket(o) === value);
  }
}

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function config(policy: 'Allow' | 'Forbid' | 'Enqueue', extra: Partial<JobConfigObject['spec']> = {}): Config {
  return {
    apiVersion: 'taskplane.dev/v1alpha1',
    kind: 'JobConfig',
    metadata: { name: 'nightly', namespace: 'batch', uid: 'config-uid' },
    spec: {
      template: { taskTemplate: { pod: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } } },
      concurrency: policy === 'Allow' ? { policy } : { policy, maxConcurrency: 1 },
      schedule: { cron: { expression: '* * * * *' } },
      ...extra,
    },
  } as Config;
}

function setup(cfg: Config, policy: SchedulerPolicy = {}, owns: () => boolean = () => true) {
  const clock = new ManualClock(new Date('2026-11-29T01:00:30Z'));
  const runs = new FakeCache<Run>();
  const configs = new FakeCache<Config>();
  configs.objects.push(cfg);
  const created: Run[] = [];
  const deleted: string[] = [];
  const events: { reason: string; message: string }[] = [];
  const client = {
    create: async (object: Run) => {
      created.push(object);
      return object;
    },
    delete: async (object: Run) => {
      deleted.push(object.metadata.name);
    },
  };
  const scheduler = new Scheduler({
    client: client as never,
    runs: runs as never,
    configs: configs as never,
    clock,
    logger: pino({ level: 'silent' }),
    policy,
    owns,
    recordEvent: (_object, _type, reason, message) => {
      events.push({ reason, message });
    },
  });
  scheduler.start();
  return { clock, runs, scheduler, created, deleted, events };
}

describe('concurrency when the cache has not seen the scheduler\'s own creates', () => {
  it('Forbid: a catch-up pass creates one run, and skips the rest with events', async () => {
    const { clock, scheduler, created, events } = setup(config('Forbid'));
    await scheduler.idle();
    clock.set(new Date('2026-11-29T01:04:30Z'));
    await scheduler.idle();
    expect(created.map((r) => r.metadata.name)).toEqual([`nightly-${unix('2026-11-29T01:01:00Z')}`]);
    expect(events.map((e) => e.reason)).toEqual(['ScheduleSkipped', 'ScheduleSkipped', 'ScheduleSkipped']);
  });

  it('Enqueue: at most maxEnqueued waiting runs', async () => {
    const { clock, scheduler, created, events } = setup(config('Enqueue'), { maxEnqueued: 2 });
    await scheduler.idle();
    clock.set(new Date('2026-11-29T01:04:30Z'));
    await scheduler.idle();
    expect(created).toHaveLength(2);
    expect(events.map((e) => e.message)).toEqual([
      'Skipped creating run for 2026-11-29T01:03:00.000Z: 2 run(s) already queued (maxEnqueued 2)',
      'Skipped creating run for 2026-11-29T01:04:00.000Z: 2 run(s) already queued (maxEnqueued 2)',
    ]);
  });

  it('a restarted scheduler creates nothing the cache already shows', async () => {
    const first = setup(config('Allow'));
    await first.scheduler.idle();
    first.clock.set(new Date('2026-11-29T01:03:00Z'));
    await first.scheduler.idle();
    await first.scheduler.stop();
    const second = setup(config('Allow'));
    second.runs.add(...first.created);
    second.clock.set(new Date('2026-11-29T01:03:30Z'));
    await second.scheduler.idle();
    expect(second.created).toEqual([]);
  });
});

const scheduledRun = (iso: string, phase: string, owner = 'config-uid'): Run =>
  ({
    apiVersion: 'taskplane.dev/v1alpha1',
    kind: 'JobRun',
    metadata: { name: `nightly-${unix(iso)}`, namespace: 'batch', uid: `uid-${iso}`, annotations: { 'taskplane.dev/schedule-time': String(unix(iso)) }, ownerReferences: [{ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', name: 'nightly', uid: owner, controller: true }] },
    spec: { configName: 'nightly', type: 'Scheduled', substitutions: {}, template: {} as never },
    status: { phase },
  }) as Run;

describe('sharding: only the owner of a config schedules it', () => {
  it('creates nothing for a config it does not own; after a loss it forgets, and on a gain starts from the runs the other owner created', async () => {
    let owned = false;
    const { clock, scheduler, runs, created } = setup(config('Allow'), {}, () => owned);
    await scheduler.idle();
    clock.set(new Date('2026-11-29T01:01:30Z'));
    await scheduler.idle();
    expect(created).toEqual([]);

    owned = true;
    scheduler.wake();
    clock.set(new Date('2026-11-29T01:02:30Z'));
    await scheduler.idle();
    expect(created.map((r) => r.metadata.name)).toEqual([`nightly-${unix('2026-11-29T01:02:00Z')}`]);

    // The shard moves away (the watcher drops what it knew), another replica schedules 01:03 and 01:04, then it comes back.
    owned = false;
    scheduler.dropUnowned();
    runs.add(...created, scheduledRun('2026-11-29T01:03:00Z', 'Succeeded'), scheduledRun('2026-11-29T01:04:00Z', 'Running'));
    clock.set(new Date('2026-11-29T01:04:30Z'));
    await scheduler.idle();
    owned = true;
    scheduler.wake();
    await scheduler.idle();
    expect(created.map((r) => r.metadata.name)).toEqual([`nightly-${unix('2026-11-29T01:02:00Z')}`]);
    clock.set(new Date('2026-11-29T01:05:30Z'));
    await scheduler.idle();
    expect(created.map((r) => r.metadata.name)).toEqual([`nightly-${unix('2026-11-29T01:02:00Z')}`, `nightly-${unix('2026-11-29T01:05:00Z')}`]);
  });
});

describe('history', () => {
  it('deletes the oldest finished runs it created past the limits, never one from Git or another owner', async () => {
    const cfg = config('Allow', { schedule: { cron: { expression: '0 3 * * *' }, history: { succeeded: 2, failed: 1 } } });
    const { scheduler, runs, deleted } = setup(cfg);
    const fromGit = scheduledRun('2026-11-20T03:00:00Z', 'Succeeded');
    // Looks like a scheduled run (name, annotation, type) but has no owner reference: GitOps applied it.
    (fromGit.metadata as { ownerReferences?: unknown }).ownerReferences = undefined;
    runs.add(
      fromGit,
      scheduledRun('2026-11-21T03:00:00Z', 'Succeeded', 'an-older-jobconfig-with-this-name'),
      scheduledRun('2026-11-22T03:00:00Z', 'Succeeded'),
      scheduledRun('2026-11-23T03:00:00Z', 'Failed'),
      scheduledRun('2026-11-24T03:00:00Z', 'Succeeded'),
      scheduledRun('2026-11-25T03:00:00Z', 'Killed'),
      scheduledRun('2026-11-26T03:00:00Z', 'Succeeded'),
      scheduledRun('2026-11-27T03:00:00Z', 'Running'),
      scheduledRun('2026-11-28T03:00:00Z', 'Succeeded'),
    );
    scheduler.wake();
    await scheduler.idle();
    expect(deleted.sort()).toEqual(['2026-11-22T03:00:00Z', '2026-11-23T03:00:00Z', '2026-11-24T03:00:00Z'].map((iso) => `nightly-${unix(iso)}`));
  });
});

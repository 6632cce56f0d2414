/** The watcher's runtime pieces that need no API server: flags, the work queue's recovery, read-your-writes. */
import { describe, expect, it } from 'vitest';
import { parseWatchFlags, type WatchFlags } from '../../cli/watch.js';
import { UsageError } from '../../cli/kube.js';
import { WriteExpectations } from '../../watcher/expectations.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { ManualClock } from '../../watcher/clock.js';
import { WorkQueue } from '../../watcher/queue.js';

const flags = (overrides: Partial<WatchFlags> = {}): WatchFlags => ({
  metricsAddress: '0.0.0.0:8080',
  leaderElect: 'true',
  leaseNamespace: 'taskplane-system',
  leaseName: 'taskplane-watcher',
  shards: '1',
  leaseDuration: '15s',
  renewDeadline: '10s',
  retryPeriod: '2s',
  workers: '2',
  logLevel: 'info',
  ...overrides,
});

describe('taskplane watch flags', () => {
  it('parses valid flags', () => {
    expect(parseWatchFlags(flags({ workers: '4', leaderElect: 'false', metricsAddress: '127.0.0.1:9090' }))).toEqual({
      workers: 4,
      shards: 1,
      timings: { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2000 },
      leaderElect: false,
      host: '127.0.0.1',
      port: 9090,
      http: { egress: {} },
    });
    expect(parseWatchFlags(flags({ shards: '3', leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '500ms' }))).toMatchObject({
      shards: 3,
      timings: { leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 },
    });
    expect(parseWatchFlags(flags({ metricsAddress: ':8080' }))).toMatchObject({ host: '0.0.0.0', port: 8080 });
  });

  it.each(['two', '0', '-1', '1.5', '', ' '])('--workers %j is a usage error naming the value and what is valid', (workers) => {
    expect(() => parseWatchFlags(flags({ workers }))).toThrow(UsageError);
    expect(() => parseWatchFlags(flags({ workers }))).toThrow(`--workers: got "${workers}"; valid: a whole number of at least 1`);
  });

  /** The lines of the usage error the flags give. */
  const usageErrors = (overrides: Partial<WatchFlags>) => {
    try {
      parseWatchFlags(flags(overrides));
    } catch (error) {
      return (error as Error).message.split('\n');
    }
    return [];
  };

  it('every wrong flag at once', () => {
    expect(usageErrors({ workers: 'two', leaderElect: 'yes', metricsAddress: 'localhost', logLevel: 'loud' }).map((line) => line.split(':')[0])).toEqual(['--workers', '--leader-elect', '--metrics-address', '--log-level']);
  });

  it('--shards and the Lease timings: every wrong one named with what is valid', () => {
    expect(usageErrors({ shards: '0', leaseDuration: '1.5s', renewDeadline: '2s', retryPeriod: 'soon' })).toEqual([
      '--shards: got "0"; valid: a whole number of at least 1, e.g. --shards 2',
      '--leader-elect-retry-period: got "soon"; valid: a positive duration such as 15s or 500ms',
      '--leader-elect-renew-deadline: 2s must be shorter than --leader-elect-lease-duration (1.5s)',
      '--leader-elect-lease-duration: got "1.5s"; a Lease holds whole seconds, e.g. 15s',
    ]);
    expect(() => parseWatchFlags(flags({ shards: '2', leaderElect: 'false' }))).toThrow('--shards: got 2 with --leader-elect=false; shards are held through Leases');
  });
});

describe('WorkQueue.retryFailedNow (the API server is back)', () => {
  it('hands out every key backing off at once, with its backoff started over; keys waiting for a requeue time are left alone', async () => {
    const queue = new WorkQueue(100, 300_000);
    for (let i = 0; i < 12; i++) queue.addRateLimited('JobRun/ns/failing'); // the next delay would be 100 ms * 2^12
    queue.addAfter('JobRun/ns/later', 60_000);
    queue.retryFailedNow();
    expect(queue.length).toBe(1);
    expect(await queue.next()).toBe('JobRun/ns/failing');
    queue.done('JobRun/ns/failing');
    expect(queue.addRateLimited('JobRun/ns/failing')).toBe(100);
    expect(queue.length).toBe(0);
    queue.shutdown();
  });
});

describe('WorkQueue.addAt (due times read the watcher clock)', () => {
  it('adds a key when the clock reaches its time, not before; the earlier of two times wins; shutdown cancels', () => {
    const clock = new ManualClock(new Date('2026-11-21T00:00:00Z'));
    const queue = new WorkQueue(100, 300_000, clock);
    queue.addAt('JobRun/ns/later', new Date('2026-11-21T02:00:00Z'));
    queue.addAt('JobRun/ns/later', new Date('2026-11-21T01:00:00Z'));
    queue.addAt('JobRun/ns/later', new Date('2026-11-21T03:00:00Z'));
    queue.addAt('JobRun/ns/past', new Date('2026-11-20T23:00:00Z'));
    expect(queue.length).toBe(1);
    clock.advance(59 * 60_000);
    expect(queue.length).toBe(1);
    clock.advance(60_000);
    expect(queue.length).toBe(2);
    queue.addAt('JobRun/ns/never', new Date('2026-11-22T00:00:00Z'));
    queue.shutdown();
    clock.advance(24 * 3_600_000);
    expect(queue.length).toBe(2);
  });
});

describe('WriteExpectations (read-your-writes)', () => {
  const run = (resourceVersion: string, phase: string): KubeObject => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'r', resourceVersion }, status: { phase } });

  it('while the cache still holds the version a write replaced, the written object is the fresher one; once the cache moves on, the cache is', () => {
    const expectations = new WriteExpectations<KubeObject>();
    const written = run('11', 'Succeeded');
    expectations.wrote('k', '10', written);
    expect(expectations.fresher('k', run('10', 'Running'))).toBe(written);
    expect(expectations.fresher('k', run('10', 'Running'))).toBe(written);
    const caughtUp = run('11', 'Succeeded');
    expect(expectations.fresher('k', caughtUp)).toBe(caughtUp);
    expect(expectations.size).toBe(0);
    // Someone else's later write: the cache is newer than ours, and the write precondition guards the rest.
    expectations.wrote('k', '11', run('12', 'Succeeded'));
    const later = run('13', 'Succeeded');
    expect(expectations.fresher('k', later)).toBe(later);
  });
});

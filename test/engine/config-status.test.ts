import { describe, expect, it } from 'vitest';
import { jobConfigStatus } from '../../engine/config-status.js';
import type { JobConfigObject, JobRunObject, RunPhase } from '../../engine/schema/resources.js';

const config = (schedule?: JobConfigObject['spec']['schedule']): JobConfigObject => ({
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'JobConfig',
  metadata: { name: 'nightly', namespace: 'batch', generation: 3 },
  spec: { template: { taskTemplate: { pod: { spec: {} } } }, concurrency: { policy: 'Allow' }, ...(schedule && { schedule }) },
});

// Deferred: the watcher decides when these start (a Rendered run is active as soon as it exists).
const run = (name: string, phase?: RunPhase, startTime?: string, configName = 'nightly', namespace = 'batch'): JobRunObject => ({
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'JobRun',
  metadata: { name, namespace },
  spec: { configName, substitutions: {}, template: { taskTemplate: { pod: { spec: {} } } }, materialization: 'Deferred' },
  ...(phase && { status: { phase, ...(startTime && { startTime }) } }),
});

const now = new Date('2026-11-21T10:00:00Z');

describe('jobConfigStatus', () => {
  it("counts only its own runs: active (started, unfinished) and queued (not started), Furiko's state order", () => {
    const status = jobConfigStatus(
      config(),
      [
        run('a', 'Running', '2026-11-21T09:00:00Z'),
        run('b', 'Succeeded', '2026-11-21T09:30:00Z'),
        run('c', 'Queued'),
        run('d'),
        run('other-config', 'Running', '2026-11-21T09:59:00Z', 'weekly'),
        run('other-namespace', 'Running', '2026-11-21T09:59:00Z', 'nightly', 'elsewhere'),
      ],
      now,
    );
    expect(status).toMatchObject({
      state: 'Executing',
      active: 1,
      queued: 2,
      activeRuns: [{ name: 'a', phase: 'Running', startTime: '2026-11-21T09:00:00Z' }],
      queuedRuns: [{ name: 'c', phase: 'Queued' }, { name: 'd' }],
      lastExecuted: '2026-11-21T09:30:00Z',
      observedGeneration: 3,
    });
    expect(status.conditions).toEqual([
      { type: 'Ready', status: 'True', reason: 'Executing', message: '1 active, 2 queued run(s)', lastTransitionTime: now.toISOString(), observedGeneration: 3 },
    ]);
  });

  it.each<[string, JobConfigObject, JobRunObject[], string]>([
    ['queued only', config(), [run('c', 'Queued')], 'JobQueued'],
    ['idle', config(), [run('b', 'Failed', '2026-11-21T09:00:00Z')], 'Ready'],
    ['idle with a schedule', config({ cron: { expression: '0 2 * * *' } }), [], 'ReadyEnabled'],
    ['idle with a disabled schedule', config({ cron: { expression: '0 2 * * *' }, disabled: true }), [], 'ReadyDisabled'],
  ])('state: %s', (_, jobConfig, runs, state) => {
    expect(jobConfigStatus(jobConfig, runs, now).state).toBe(state);
  });

  it('keeps lastTransitionTime while Ready stays True, so an unchanged config writes nothing new', () => {
    const first = jobConfigStatus(config(), [], now);
    const later = jobConfigStatus({ ...config(), status: first }, [run('a', 'Running', '2026-11-21T10:01:00Z')], new Date('2026-11-21T11:00:00Z'));
    expect(later.conditions![0]!.lastTransitionTime).toBe(now.toISOString());
  });
});

describe('jobConfigStatus of a schedule', () => {
  const scheduled = (name: string, unixSeconds: number): JobRunObject => {
    const r = run(name, 'Succeeded', '2026-11-21T02:00:00Z');
    return { ...r, metadata: { ...r.metadata, annotations: { 'taskplane.dev/schedule-time': String(unixSeconds) } } };
  };

  it("lastScheduled is the newest run's schedule time (Furiko's), kept from the status once the runs are gone; nextScheduled in the zone", () => {
    const spec = { cron: { expression: '0 3 * * *', timezone: 'Europe/Berlin' } };
    const status = jobConfigStatus(config(spec), [scheduled('nightly-1', Date.parse('2026-11-19T02:00:00Z') / 1000), scheduled('nightly-2', Date.parse('2026-11-20T02:00:00Z') / 1000)], now);
    expect(status).toMatchObject({ state: 'ReadyEnabled', lastScheduled: '2026-11-20T02:00:00Z', nextScheduled: '2026-11-22T02:00:00Z' });
    const later = jobConfigStatus({ ...config(spec), status }, [], now);
    expect(later.lastScheduled).toBe('2026-11-20T02:00:00Z');
  });

  it('no next time while disabled or paused (ReadyDisabled), and none after notAfter', () => {
    expect(jobConfigStatus(config({ cron: { expression: '0 3 * * *' }, disabled: true }), [], now)).toMatchObject({ state: 'ReadyDisabled' });
    expect(jobConfigStatus(config({ cron: { expression: '0 3 * * *' }, disabled: true }), [], now).nextScheduled).toBeUndefined();
    const paused = { ...config({ cron: { expression: '0 3 * * *' } }), metadata: { name: 'nightly', namespace: 'batch', annotations: { 'taskplane.dev/schedule-paused': 'x' } } };
    expect(jobConfigStatus(paused, [], now)).toMatchObject({ state: 'ReadyDisabled', schedulePaused: true });
    expect(jobConfigStatus(paused, [], now).nextScheduled).toBeUndefined();
    expect(jobConfigStatus(config({ cron: { expression: '0 3 * * *' }, constraints: { notAfter: '2026-11-21T09:00:00Z' } }), [], now).nextScheduled).toBeUndefined();
  });
});

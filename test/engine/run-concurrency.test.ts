import { describe, expect, it } from 'vitest';
import { jobConfigStatus } from '../../engine/config-status.js';
import { concurrencyContext } from '../../engine/run/index.js';
import type { JobConfigObject, JobRunObject, MaterializationMode, RunPhase } from '../../engine/schema/resources.js';

const config: JobConfigObject = {
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'JobConfig',
  metadata: { name: 'nightly', namespace: 'batch' },
  spec: { template: { taskTemplate: { pod: { spec: {} } } }, concurrency: { policy: 'Enqueue', maxConcurrency: 2 } },
};

const run = (name: string, materialization: MaterializationMode, status?: { phase: RunPhase; startTime?: string }, more: Partial<JobRunObject['metadata']> = {}, configName = 'nightly'): JobRunObject => ({
  apiVersion: 'taskplane.dev/v1alpha1',
  kind: 'JobRun',
  metadata: { name, namespace: 'batch', creationTimestamp: '2026-11-21T10:00:00Z', ...more },
  spec: { configName, substitutions: {}, template: { taskTemplate: { pod: { spec: {} } } }, materialization },
  ...(status && { status }),
});

describe('concurrencyContext', () => {
  const waiting = run('waiting', 'Deferred', undefined, { creationTimestamp: '2026-11-21T10:05:00Z' });

  it('counts a Rendered run as active before the watcher has recorded its start (GitOps applied its tasks)', () => {
    // The watcher may reconcile the Deferred run before the Rendered one: the Rendered run's tasks run all the same.
    const context = concurrencyContext(waiting, [waiting, run('rendered', 'Rendered')], config);
    expect(context).toEqual({ policy: 'Enqueue', maxConcurrency: 2, activeRuns: 1, queuedAhead: 0 });
  });

  it('counts started unfinished runs as active, finished ones not at all, and only waiting runs created earlier as ahead', () => {
    const runs = [
      waiting,
      run('started', 'Deferred', { phase: 'Running', startTime: '2026-11-21T10:01:00Z' }),
      run('done', 'Rendered', { phase: 'Succeeded', startTime: '2026-11-21T09:00:00Z' }),
      run('rejected', 'Deferred', { phase: 'AdmissionError' }, { creationTimestamp: '2026-11-21T09:00:00Z' }),
      run('earlier', 'Deferred', { phase: 'Queued' }, { creationTimestamp: '2026-11-21T10:01:00Z' }),
      run('same-time-a', 'Deferred', undefined, { creationTimestamp: '2026-11-21T10:05:00Z' }),
      run('zz-same-time', 'Deferred', undefined, { creationTimestamp: '2026-11-21T10:05:00Z' }),
      run('later', 'Deferred', undefined, { creationTimestamp: '2026-11-21T10:06:00Z' }),
      run('other-config', 'Rendered', undefined, {}, 'weekly'),
      run('other-namespace', 'Rendered', undefined, { namespace: 'elsewhere' }),
    ];
    expect(concurrencyContext(waiting, runs, config)).toEqual({ policy: 'Enqueue', maxConcurrency: 2, activeRuns: 1, queuedAhead: 2 });
  });

  it("uses the run's own policy over the config's, and Allow with one slot when the config is unknown", () => {
    const forbidding = { ...waiting, spec: { ...waiting.spec, concurrencyPolicy: 'Forbid' as const } };
    expect(concurrencyContext(forbidding, [], config).policy).toBe('Forbid');
    expect(concurrencyContext(waiting, [], undefined)).toMatchObject({ policy: 'Allow', maxConcurrency: 1 });
  });

  it("agrees with the JobConfig's status on what is active and what is queued", () => {
    const runs = [waiting, run('rendered', 'Rendered'), run('started', 'Deferred', { phase: 'Running', startTime: '2026-11-21T10:01:00Z' })];
    const status = jobConfigStatus(config, runs, new Date('2026-11-21T11:00:00Z'));
    expect(status).toMatchObject({ active: 2, queued: 1 });
    expect(concurrencyContext(waiting, runs, config).activeRuns).toBe(status.active);
  });
});

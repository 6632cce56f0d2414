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

import { describe, expect, it } from 'vitest';
import { runDetail } from '../../cli/status.js';
import { makeRun } from '../engine/run-sim.js';

describe('taskplane status <run>', () => {
  it('shows folded attempts: the last one with its outcome, earlier ones as ended', () => {
    const run = makeRun({ template: { maxAttempts: 3, parallelism: { withCount: 3 } } });
    const status = {
      phase: 'Failed' as const,
      foldedTasks: [
        { indexes: '0,2', attempts: 3, lastFinishTime: '2026-11-21T00:10:00Z', lastStatus: { state: 'Terminated' as const, result: 'Failed' as const, reason: 'Error' } },
        { indexes: '1', attempts: 1, lastFinishTime: '2026-11-21T00:05:00Z', lastStatus: { state: 'Terminated' as const, result: 'Succeeded' as const } },
      ],
    };
    const text = runDetail({ ...run, status } as never, Date.parse('2026-11-21T01:00:00Z'), (text) => text);
    const rows = tableRows(text);
    expect(rows).toEqual([
      ['0', 'ended', 'ended', 'Failed (Error)'],
      ['1', 'Succeeded', '-', '-'],
      ['2', 'ended', 'ended', 'Failed (Error)'],
    ]);
  });

  it('shows packed tasks (a large run still going) in their attempt column, with their group\'s state', () => {
    const run = makeRun({ template: { maxAttempts: 3, parallelism: { withCount: 3 } } });
    const status = {
      phase: 'Running' as const,
      foldedTasks: [{ indexes: '0-2', attempts: 1, lastFinishTime: '2026-11-21T00:10:00Z', lastStatus: { state: 'Terminated' as const, result: 'Failed' as const, reason: 'Error' } }],
      liveTasks: [
        { indexes: '0,2', retryIndex: 1, status: { state: 'Running' as const }, lastCreationTime: '2026-11-21T00:10:00Z', lastRunningTime: '2026-11-21T00:50:00Z' },
        { indexes: '1', retryIndex: 1, status: { state: 'Starting' as const }, lastCreationTime: '2026-11-21T00:58:00Z' },
      ],
    };
    const text = runDetail({ ...run, status } as never, Date.parse('2026-11-21T01:00:00Z'), (text) => text);
    const rows = tableRows(text);
    expect(rows).toEqual([
      ['0', 'Failed (Error)', 'Running 10m', '-'],
      ['1', 'Failed (Error)', 'Starting 2m', '-'],
      ['2', 'Failed (Error)', 'Running 10m', '-'],
    ]);
  });

  it('shows attempts past maxAttempts that RetryNotCounted rules added', () => {
    const run = makeRun({ template: { maxAttempts: 1, retryRules: [{ name: 'eviction', when: 'reason == "Evicted"', action: 'RetryNotCounted' }] } });
    const evicted = (retryIndex: number) => ({
      name: `nightly-0-${retryIndex}`, kind: 'Pod', apiVersion: 'v1', parallelIndex: { indexNumber: 0 }, retryIndex,
      status: { state: 'Terminated' as const, result: 'Killed' as const, reason: 'Evicted' }, retryRule: { rule: 'eviction', action: 'RetryNotCounted' as const },
    });
    const status = { phase: 'Running' as const, tasks: [evicted(0), evicted(1), { ...evicted(2), status: { state: 'Running' as const }, retryRule: undefined }] };
    const text = runDetail({ ...run, status } as never, Date.parse('2026-11-21T01:00:00Z'), (text) => text);
    expect(text.split('\n').find((line) => line.startsWith('INDEX'))!.split(/\s{2,}/)).toEqual(['INDEX', 'ATTEMPT 0', 'ATTEMPT 1', 'ATTEMPT 2']);
    const rows = tableRows(text);
    expect(rows).toEqual([['0', 'Killed (Evicted)', 'Killed (Evicted)', 'Running']]);
  });
});

/** The index rows of the detail's table, split into cells. */
function tableRows(text: string): string[][] {
  return text.split('\n').filter((line) => /^\d /.test(line)).map((line) => line.split(/\s{2,}/).map((cell) => cell.trim()));
}

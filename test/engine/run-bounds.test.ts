/**
 * The JobRun status is bounded (engine/run/fold.ts, results.ts): the largest run the schema allows,
 * every attempt failing with the largest result. Its history (finished attempts, results) stays
 * within STATUS_BUDGET_BYTES at every write and the finished status is a few KB; the tasks still
 * going are one ref each (see docs/watcher.md, "Status size": 10,000 at once do not fit yet).
 */
import { describe, expect, it } from 'vitest';
import { taskName } from '../../engine/names.js';
import { planRun, type ObservedTask } from '../../engine/run/index.js';
import { STATUS_BUDGET_BYTES, statusBytes } from '../../engine/run/fold.js';
import { MAX_RESULT_BYTES, RESULTS_BUDGET_BYTES } from '../../engine/run/results.js';
import { MAX_ATTEMPTS_LIMIT, MAX_PARALLEL_INDEXES } from '../../engine/schema/template.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import { iso, makeRun, RUN, RunSim, T0 } from './run-sim.js';

/** A result of exactly `bytes` bytes as JSON. */
function result(bytes: number): Record<string, unknown> {
  const empty = JSON.stringify({ log: '' }).length;
  return { log: 'x'.repeat(bytes - empty) };
}

describe('the largest run the schema allows', () => {
  it(`${MAX_PARALLEL_INDEXES} indexes x ${MAX_ATTEMPTS_LIMIT} attempts, every one failing with a ${MAX_RESULT_BYTES}-byte result: history within ${STATUS_BUDGET_BYTES} bytes at every write`, () => {
    let run: JobRunObject = makeRun({
      materialization: 'Deferred',
      template: { maxAttempts: MAX_ATTEMPTS_LIMIT, taskPendingTimeoutSeconds: 0, parallelism: { withCount: MAX_PARALLEL_INDEXES } },
    });
    const tasks = new Map<string, ObservedTask>();
    let clock = 0;
    let largest = 0;
    let largestHistory = 0;
    let uids = 0;
    let created = 0;
    const plan = () => {
      const planned = planRun({ run, tasks: [...tasks.values()], now: new Date(T0 + clock * 1000) });
      largest = Math.max(largest, statusBytes(planned.status));
      largestHistory = Math.max(largestHistory, statusBytes(history(planned.status)));
      run = { ...run, status: planned.status };
      for (const { index, retryIndex } of planned.create) {
        const name = taskName(run.metadata.name, index, retryIndex);
        tasks.set(name, { name, index, retryIndex, uid: `uid-${++uids}`, creationTimestamp: iso(clock), observation: { state: 'Starting' }, createdByWatcher: true });
      }
      created += planned.create.length;
      return planned;
    };
    plan();
    for (let attempt = 0; attempt < MAX_ATTEMPTS_LIMIT; attempt++) {
      clock += 10;
      for (const [name, task] of tasks) {
        if (task.observation.state === 'Terminated') tasks.delete(name); // a TTL cleans finished Pods
        else tasks.set(name, { ...task, observation: { state: 'Terminated', result: 'Failed', reason: 'Error', runningTimestamp: iso(clock - 5), finishTimestamp: iso(clock), taskResult: result(MAX_RESULT_BYTES) } });
      }
      plan();
    }
    const status = run.status!;
    console.log(`largest status ${largest} bytes (history ${largestHistory}); final ${statusBytes(status)} bytes, ${status.tasks?.length} refs, ${status.foldedTasks?.length} folded groups`);
    expect(created).toBe(MAX_PARALLEL_INDEXES * MAX_ATTEMPTS_LIMIT);
    expect(status.phase).toBe('Failed');
    expect(status.createdTasks).toBe(MAX_PARALLEL_INDEXES * MAX_ATTEMPTS_LIMIT);
    expect(largestHistory).toBeLessThanOrEqual(STATUS_BUDGET_BYTES);
    expect(statusBytes(status)).toBeLessThanOrEqual(STATUS_BUDGET_BYTES / 64);
  }, 600_000);
});

/** The status without what the tasks still going take: their refs and their indexes' entries. */
function history(status: JobRunObject['status'] & object): object {
  const going = (status.tasks ?? []).filter((ref) => !ref.finishTimestamp);
  const goingNames = new Set(going.map((ref) => ref.name));
  const goingIndexes = new Set(going.map((ref) => JSON.stringify(ref.parallelIndex)));
  return {
    ...status,
    tasks: status.tasks?.filter((ref) => !goingNames.has(ref.name)),
    indexes: status.indexes?.filter((index) => !goingIndexes.has(JSON.stringify(index.index))),
  };
}

describe('task results in status', () => {
  it(`keeps a result up to ${MAX_RESULT_BYTES} bytes and ${RESULTS_BUDGET_BYTES} bytes of them per run; the others are marked, and a record never changes`, () => {
    const sim = new RunSim(makeRun({ template: { parallelism: { withCount: 20 } } })).applyFirstAttempts();
    sim.plan();
    const finishWith = (index: number, bytes: number) => {
      const name = `${RUN}-${index}-0`;
      const { observation } = sim.tasks.get(name)!;
      sim.observe(name, { ...observation, state: 'Terminated', result: 'Succeeded', finishTimestamp: iso(sim.clock), taskResult: result(bytes) });
    };
    sim.at(10);
    finishWith(0, MAX_RESULT_BYTES + 1);
    for (let i = 1; i <= 17; i++) finishWith(i, MAX_RESULT_BYTES);
    sim.plan();
    const omitted = (i: number) => sim.ref(`${RUN}-${i}-0`)!.resultOmitted;
    expect(omitted(0)).toEqual({ reason: 'TooLarge', bytes: MAX_RESULT_BYTES + 1 });
    // 16 results of 4 KiB fill the 64 KiB budget, in ref order (creation, then name); the 17th is over it.
    const finished = sim.status.tasks!.filter((ref) => ref.finishTimestamp && ref.name !== `${RUN}-0-0`);
    expect(finished.map((ref) => ref.taskResult ?? ref.resultOmitted)).toEqual([
      ...Array.from({ length: 16 }, () => result(MAX_RESULT_BYTES)),
      { reason: 'StatusBudget', bytes: MAX_RESULT_BYTES },
    ]);
    // A small result still fits nowhere once the budget is spent; earlier records stand as written.
    const before = sim.status.tasks!.filter((ref) => ref.finishTimestamp);
    sim.at(20);
    finishWith(18, 10);
    sim.plan();
    expect(omitted(18)).toEqual({ reason: 'StatusBudget', bytes: 10 });
    for (const ref of before) expect(sim.ref(ref.name)).toStrictEqual(ref);
  });
});

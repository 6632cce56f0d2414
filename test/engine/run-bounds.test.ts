/**
 * The JobRun status is bounded (engine/run/fold.ts, pack.ts, results.ts): the largest run the schema
 * allows, all its indexes at once and every attempt failing with the largest result, stays within
 * STATUS_BUDGET_BYTES at every write, and the finished status is a few KB.
 */
import { describe, expect, it } from 'vitest';
import { expandIndexes, type ParallelIndex } from '../../engine/indexes.js';
import { taskName } from '../../engine/names.js';
import { planRun, type ObservedTask } from '../../engine/run/index.js';
import { MAX_CREATES_PER_PLAN } from '../../engine/run/creates.js';
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
  // Every index at once, every attempt failing with the largest result: the tasks going are packed
  // (pack.ts), the finished ones folded (fold.ts), and each write of the status is within the budget.
  // With a retry delay, all indexes wait to retry at once: their latest attempts are folded too.
  // Creates go out MAX_CREATES_PER_PLAN a plan, each plan asking for the next at once (as the watcher
  // requeues): the Rendered case shows the status within budget while a round of retries is half
  // created; the 50-attempt case lifts the limit (20 plans a round would make it a 5-minute test).
  it.each([
    { materialization: 'Deferred' as const, maxAttempts: MAX_ATTEMPTS_LIMIT, retryDelaySeconds: 0, createLimit: MAX_PARALLEL_INDEXES },
    // Fewer attempts: each round plans 10,000 tasks three times, and the rounds repeat themselves.
    { materialization: 'Rendered' as const, maxAttempts: 3, retryDelaySeconds: 30, createLimit: MAX_CREATES_PER_PLAN },
  ])(
    `${MAX_PARALLEL_INDEXES} indexes x $maxAttempts attempts at once, every one failing with a ${MAX_RESULT_BYTES}-byte result, $materialization, retry delay $retryDelaySeconds s, $createLimit creates a plan: every status within ${STATUS_BUDGET_BYTES} bytes`,
    ({ materialization, maxAttempts, retryDelaySeconds, createLimit }) => {
      let run: JobRunObject = makeRun({
        materialization,
        template: { maxAttempts, retryDelaySeconds, taskPendingTimeoutSeconds: 0, parallelism: { withCount: MAX_PARALLEL_INDEXES } },
      });
      const tasks = new Map<string, ObservedTask>();
      let clock = 0;
      let largest = 0;
      let uids = 0;
      let created = 0;
      let writes = 0;
      const observe = (name: string, index: ParallelIndex, retryIndex: number, createdByWatcher: boolean) =>
        tasks.set(name, { name, index, retryIndex, uid: `uid-${++uids}`, creationTimestamp: iso(clock), observation: { state: 'Starting' }, createdByWatcher });
      let mostCreatesInOnePlan = 0;
      const plan = () => {
        const now = new Date(T0 + clock * 1000);
        for (let again = true; again; ) {
          const planned = planRun({ run, tasks: [...tasks.values()], now, createLimit });
          largest = Math.max(largest, statusBytes(planned.status));
          writes++;
          run = { ...run, status: planned.status };
          for (const { index, retryIndex } of planned.create) observe(taskName(RUN, index, retryIndex), index, retryIndex, true);
          created += planned.create.length;
          mostCreatesInOnePlan = Math.max(mostCreatesInOnePlan, planned.create.length);
          again = planned.requeueAt?.getTime() === now.getTime();
        }
      };
      const everyTask = (change: (task: ObservedTask) => ObservedTask | undefined) => {
        for (const [name, task] of tasks) {
          const next = change(task);
          if (next) tasks.set(name, next);
          else tasks.delete(name);
        }
      };
      if (materialization === 'Rendered') for (const index of expandIndexes(run.spec.template.parallelism)) observe(taskName(RUN, index, 0), index, 0, false);
      plan();
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        clock += 5;
        everyTask((task) => ({ ...task, observation: { state: 'Running', runningTimestamp: iso(clock) } }));
        plan();
        clock += 5;
        everyTask((task) => ({ ...task, observation: { state: 'Terminated', result: 'Failed', reason: 'Error', runningTimestamp: iso(clock - 5), finishTimestamp: iso(clock), taskResult: result(MAX_RESULT_BYTES) } }));
        plan();
        everyTask((task) => (task.observation.state === 'Terminated' ? undefined : task)); // a TTL cleans finished Pods
        clock += retryDelaySeconds;
        if (retryDelaySeconds) plan();
      }
      const status = run.status!;
      console.log(`${materialization}, delay ${retryDelaySeconds} s: ${writes} writes, largest status ${largest} bytes; final ${statusBytes(status)} bytes, ${status.tasks?.length ?? 0} refs, ${status.foldedTasks?.length} folded groups`);
      const byWatcher = materialization === 'Rendered' ? maxAttempts - 1 : maxAttempts;
      expect(created).toBe(MAX_PARALLEL_INDEXES * byWatcher);
      expect(mostCreatesInOnePlan).toBe(createLimit);
      expect(status.phase).toBe('Failed');
      expect(status.createdTasks).toBe(MAX_PARALLEL_INDEXES * maxAttempts);
      expect(largest).toBeLessThanOrEqual(STATUS_BUDGET_BYTES);
      expect(statusBytes(status)).toBeLessThanOrEqual(STATUS_BUDGET_BYTES / 64);
    },
    600_000,
  );
});

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

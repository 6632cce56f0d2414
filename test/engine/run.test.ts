/**
 * planRun scenarios, step by step on a fake clock. Each row: the time, what changed in the world,
 * and the plan expected (phase, creates, kills, event reasons, requeue time in seconds from T0).
 * Every step also checks idempotence and schema validity (see run-sim.ts).
 */
import { describe, expect, it } from 'vitest';
import type { RunPhase } from '../../engine/schema/index.js';
import { planRun } from '../../engine/run/index.js';
import { MAX_CREATES_PER_PLAN } from '../../engine/run/creates.js';
import { taskName } from '../../engine/names.js';
import { iso, makeRun, RunSim, summarizePlan, type RunOptions } from './run-sim.js';

interface Step {
  readonly at: number;
  readonly world?: (sim: RunSim) => unknown;
  readonly phase: RunPhase;
  readonly create?: string[];
  readonly kill?: string[];
  readonly events?: string[];
  readonly requeueAt?: number;
}

function play(sim: RunSim, steps: readonly Step[]): RunSim {
  for (const step of steps) {
    step.world?.(sim.at(step.at));
    const plan = summarizePlan(sim.at(step.at).plan());
    const expected = { phase: step.phase, create: step.create ?? [], kill: step.kill ?? [], events: step.events ?? [], requeueAt: step.requeueAt };
    expect(plan, `at ${step.at}s`).toEqual(expected);
  }
  return sim;
}

const scenario = (options: RunOptions, steps: readonly Step[]) => play(new RunSim(makeRun(options)), steps);
const conditionStatuses = (sim: RunSim) => Object.fromEntries((sim.status.conditions ?? []).map((c) => [c.type, c.status]));

describe('planRun: retries', () => {
  it('fail, fail, succeed with maxAttempts 3: three attempts, each retry exactly retryDelaySeconds after the last finish', () => {
    const sim = scenario({ template: { maxAttempts: 3, retryDelaySeconds: 60 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts(), phase: 'Pending', events: ['Started'], requeueAt: 900 },
      { at: 10, world: (s) => s.running('nightly-0-0'), phase: 'Running' },
      { at: 20, world: (s) => s.finish('nightly-0-0', 'Failed', 'Error'), phase: 'RetryBackoff', events: ['TaskFinished', 'RetryScheduled'], requeueAt: 80 },
      { at: 79, phase: 'RetryBackoff', requeueAt: 80 },
      { at: 80, phase: 'Retrying', create: ['nightly-0-1'], events: ['TaskCreated'], requeueAt: 140 },
      { at: 81, world: (s) => s.running('nightly-0-1'), phase: 'Running' },
      { at: 90, world: (s) => s.finish('nightly-0-1', 'Failed', 'OOMKilled'), phase: 'RetryBackoff', events: ['TaskFinished', 'RetryScheduled'], requeueAt: 150 },
      { at: 150, phase: 'Retrying', create: ['nightly-0-2'], events: ['TaskCreated'], requeueAt: 210 },
      { at: 151, world: (s) => s.running('nightly-0-2'), phase: 'Running' },
      { at: 160, world: (s) => s.finish('nightly-0-2', 'Succeeded'), phase: 'Succeeded', events: ['TaskFinished', 'Finished'] },
    ]);
    expect(sim.status).toMatchObject({ result: 'Success', startTime: iso(0), finishTime: iso(160), progress: '1/1', createdTasks: 3, runningTasks: 0 });
    expect(sim.status.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['nightly-0-0', 0, 'Failed'],
      ['nightly-0-1', 1, 'Failed'],
      ['nightly-0-2', 2, 'Succeeded'],
    ]);
    expect(sim.status.indexes).toEqual([{ index: { indexNumber: 0 }, key: '0', createdTasks: 3, state: 'Terminated', result: 'Succeeded' }]);
    expect(conditionStatuses(sim)).toEqual({ Ready: 'True', Reconciling: 'False', Stalled: 'False', TemplateChanged: 'False' });
    expect(sim.events.find((e) => e.reason === 'RetryScheduled')?.message).toBe(`Index 0 retries (attempt 2 of 3) at ${iso(80)}`);
  });

  it('fails once every attempt failed: Failed, Stalled=True, nothing more created', () => {
    const sim = scenario({ template: { maxAttempts: 2 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'] },
      { at: 5, world: (s) => s.finish('nightly-0-0', 'Failed'), phase: 'Retrying', create: ['nightly-0-1'], events: ['TaskFinished', 'TaskCreated'], requeueAt: 65 },
      { at: 6, world: (s) => s.running('nightly-0-1'), phase: 'Running' },
      { at: 9, world: (s) => s.finish('nightly-0-1', 'Failed'), phase: 'Failed', events: ['TaskFinished', 'Finished'] },
      { at: 5000, phase: 'Failed' },
    ]);
    expect(sim.status).toMatchObject({ result: 'Failed', reason: 'TasksFailed', message: 'Index 0 failed (AllSuccessful)', finishTime: iso(9) });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'TasksFailed' });
    expect(sim.condition('Ready')).toMatchObject({ status: 'False', reason: 'Failed' });
  });
});

describe('planRun: completion strategies', () => {
  it('AllSuccessful: one failed index kills the others, and the run fails once they stopped', () => {
    const sim = scenario({ template: { parallelism: { withCount: 3 } } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0').running('nightly-1-0').running('nightly-2-0'), phase: 'Running', events: ['Started'] },
      {
        at: 30,
        world: (s) => s.finish('nightly-1-0', 'Failed'),
        phase: 'Terminating',
        kill: ['nightly-0-0:CompletionStrategy', 'nightly-2-0:CompletionStrategy'],
        events: ['TaskFinished', 'Killing', 'Killing'],
        requeueAt: 90,
      },
      { at: 35, world: (s) => s.honourKills(), phase: 'Failed', events: ['TaskFinished', 'TaskFinished', 'Finished'] },
    ]);
    expect(sim.ref('nightly-0-0')!.status).toEqual({ state: 'Terminated', result: 'Killed', reason: 'CompletionStrategy', message: 'Index 1 failed; AllSuccessful stops the remaining tasks' });
    expect(sim.status.message).toBe('Index 1 failed (AllSuccessful)');
    expect(sim.status.progress).toBe('0/3');
  });

  it('AnySuccessful: the first success kills the rest, and the run succeeds once they stopped', () => {
    const sim = scenario({ template: { parallelism: { withKeys: ['a', 'b', 'c'], completionStrategy: 'AnySuccessful' }, maxAttempts: 3 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-a-0').running('nightly-b-0'), phase: 'Pending', events: ['Started'], requeueAt: 900 },
      { at: 40, world: (s) => s.finish('nightly-b-0', 'Succeeded'), phase: 'Terminating', kill: ['nightly-a-0:CompletionStrategy', 'nightly-c-0:CompletionStrategy'], events: ['TaskFinished', 'TaskFinished', 'Killing', 'Killing'], requeueAt: 100 },
      { at: 45, world: (s) => s.honourKills(), phase: 'Succeeded', events: ['TaskFinished', 'Finished'] },
    ]);
    // The killed indexes still had attempts left: completion, not retries, decides.
    expect(sim.status.indexes!.map((i) => [i.key, i.state, i.result])).toEqual([
      ['a', 'RetryBackoff', undefined],
      ['b', 'Terminated', 'Succeeded'],
      ['c', 'RetryBackoff', undefined],
    ]);
    expect(sim.status).toMatchObject({ result: 'Success', progress: '1/3', finishTime: iso(45) });
  });
});

describe('planRun: timeouts', () => {
  it('pending timeout: kills a task that never ran, which counts as a failed attempt and is retried', () => {
    const sim = scenario({ template: { maxAttempts: 2, taskPendingTimeoutSeconds: 300 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts(), phase: 'Pending', events: ['Started'], requeueAt: 300 },
      { at: 299, phase: 'Pending', requeueAt: 300 },
      // It never ran, so it ends with the kill (an unscheduled Pod's deadline cannot fire) and the retry follows at once.
      { at: 300, phase: 'Retrying', kill: ['nightly-0-0:PendingTimeout'], create: ['nightly-0-1'], events: ['TaskFinished', 'PendingTimeout', 'TaskCreated'], requeueAt: 360 },
      { at: 301, world: (s) => s.honourKills(), phase: 'Retrying', requeueAt: 600 },
    ]);
    expect(sim.ref('nightly-0-0')).toMatchObject({
      status: { state: 'Terminated', result: 'Killed', reason: 'PendingTimeout', message: 'Task did not start running within its pending timeout of 300s' },
      killRequest: { reason: 'PendingTimeout', timestamp: iso(300) },
      finishTimestamp: iso(300),
    });
    expect(sim.events.find((e) => e.reason === 'TaskFinished')).toMatchObject({ type: 'Warning', message: 'Task nightly-0-0 finished: Killed (PendingTimeout)' });
  });

  it('pending timeout 0 turns it off', () => {
    scenario({ template: { taskPendingTimeoutSeconds: 0 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts(), phase: 'Pending', events: ['Started'] },
      { at: 100_000, phase: 'Pending' },
    ]);
  });

  it('task timeout: kills a task running longer than taskTimeoutSeconds', () => {
    const sim = scenario({ template: { taskTimeoutSeconds: 600 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts(), phase: 'Pending', events: ['Started'], requeueAt: 900 },
      { at: 10, world: (s) => s.running('nightly-0-0'), phase: 'Running', requeueAt: 610 },
      { at: 610, phase: 'Running', kill: ['nightly-0-0:TaskTimeout'], events: ['TaskTimeout'], requeueAt: 670 },
      { at: 612, world: (s) => s.honourKills(), phase: 'Failed', events: ['TaskFinished', 'Finished'] },
    ]);
    expect(sim.ref('nightly-0-0')!.status).toMatchObject({ result: 'Killed', reason: 'TaskTimeout', message: 'Task ran longer than its timeout of 600s' });
  });

  it('a kill that did not take is issued again after a minute, without a new event', () => {
    scenario({ template: { taskTimeoutSeconds: 60 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'], requeueAt: 60 },
      { at: 60, phase: 'Running', kill: ['nightly-0-0:TaskTimeout'], events: ['TaskTimeout'], requeueAt: 120 },
      { at: 119, phase: 'Running', requeueAt: 120 },
      { at: 120, phase: 'Running', kill: ['nightly-0-0:TaskTimeout'], requeueAt: 180 },
    ]);
  });

  it('a task that succeeded before its kill landed keeps its success', () => {
    const sim = scenario({ template: { taskTimeoutSeconds: 60 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'], requeueAt: 60 },
      { at: 60, phase: 'Running', kill: ['nightly-0-0:TaskTimeout'], events: ['TaskTimeout'], requeueAt: 120 },
      { at: 61, world: (s) => s.finish('nightly-0-0', 'Succeeded'), phase: 'Succeeded', events: ['TaskFinished', 'Finished'] },
    ]);
    expect(sim.ref('nightly-0-0')).toMatchObject({ status: { result: 'Succeeded' }, killRequest: { reason: 'TaskTimeout' } });
  });
});

describe('planRun: kill', () => {
  it('killTimestamp: requeue at it, then kill every unfinished task, Killing until they stopped, then Killed', () => {
    const sim = scenario({ killTimestamp: iso(100), template: { parallelism: { withCount: 2 }, maxAttempts: 3 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0').running('nightly-1-0'), phase: 'Running', events: ['Started'], requeueAt: 100 },
      { at: 50, world: (s) => s.finish('nightly-0-0', 'Succeeded'), phase: 'Running', events: ['TaskFinished'], requeueAt: 100 },
      { at: 100, phase: 'Killing', kill: ['nightly-1-0:RunKilled'], events: ['Killing'], requeueAt: 160 },
      { at: 103, world: (s) => s.honourKills(), phase: 'Killed', events: ['TaskFinished', 'Finished'] },
      { at: 200, phase: 'Killed' },
    ]);
    expect(sim.status).toMatchObject({ result: 'Killed', finishTime: iso(103), message: `Run killed at ${iso(100)}` });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'Killed' });
    expect(sim.status.createdTasks).toBe(2);
  });

  it('a Deferred run killed before it started ends Killed at the killTimestamp', () => {
    scenario({ materialization: 'Deferred', startAfter: iso(500), killTimestamp: iso(100) }, [
      { at: 0, phase: 'Queued', requeueAt: 100 },
      { at: 100, phase: 'Killed', events: ['Finished'] },
      { at: 600, phase: 'Killed' },
    ]);
  });

  it('a finished run stays finished when a killTimestamp is added later', () => {
    const sim = scenario({}, [
      { at: 0, world: (s) => s.applyFirstAttempts().finish('nightly-0-0', 'Succeeded'), phase: 'Succeeded', events: ['Started', 'TaskFinished', 'Finished'] },
    ]);
    sim.run = { ...sim.run, spec: { ...sim.run.spec, killTimestamp: iso(10) } };
    play(sim, [{ at: 20, phase: 'Succeeded' }]);
  });
});

describe('planRun: Deferred runs and concurrency', () => {
  it('waits for startAfter, then starts and creates the first attempt of every index', () => {
    const sim = scenario({ materialization: 'Deferred', startAfter: iso(3600), template: { parallelism: { withKeys: ['eu', 'us'] } } }, [
      { at: 0, phase: 'Queued', requeueAt: 3600 },
      { at: 3599, phase: 'Queued', requeueAt: 3600 },
      { at: 3600, phase: 'Pending', create: ['nightly-eu-0', 'nightly-us-0'], events: ['Started', 'TaskCreated', 'TaskCreated'], requeueAt: 3660 },
      { at: 3601, world: (s) => s.running('nightly-eu-0').running('nightly-us-0'), phase: 'Running' },
    ]);
    expect(sim.status.startTime).toBe(iso(3600));
  });

  it('records the queue reason while waiting for startAfter', () => {
    const sim = scenario({ materialization: 'Deferred', startAfter: iso(60) }, [{ at: 0, phase: 'Queued', requeueAt: 60 }]);
    expect(sim.status).toMatchObject({ reason: 'NotYetDue', message: `Run is queued to start no earlier than ${iso(60)}` });
    expect(conditionStatuses(sim)).toEqual({ Ready: 'False', Reconciling: 'True', Stalled: 'False' });
  });

  it('Forbid over the limit: AdmissionError with Furiko\'s message, for good', () => {
    const sim = new RunSim(makeRun({ materialization: 'Deferred' }));
    sim.concurrency = { policy: 'Forbid', maxConcurrency: 1, activeRuns: 1, queuedAhead: 0 };
    play(sim, [{ at: 0, phase: 'AdmissionError', events: ['ConcurrencyForbidden'] }]);
    expect(sim.status).toMatchObject({
      result: 'AdmissionError',
      reason: 'ConcurrencyForbidden',
      message: 'Cannot start new JobRun, nightly has 1 active JobRuns but concurrency policy is Forbid',
      finishTime: iso(0),
    });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'ConcurrencyForbidden' });
    sim.concurrency = { ...sim.concurrency, activeRuns: 0 };
    play(sim, [{ at: 10, phase: 'AdmissionError' }]);
  });

  it('Enqueue: waits while the config is at its limit (runs queued ahead count), then starts', () => {
    const sim = new RunSim(makeRun({ materialization: 'Deferred' }));
    sim.concurrency = { policy: 'Enqueue', maxConcurrency: 2, activeRuns: 1, queuedAhead: 1 };
    play(sim, [{ at: 0, phase: 'Queued' }]);
    expect(sim.status).toMatchObject({ reason: 'Queued', message: 'Run is queued and may be pending other concurrent runs to be finished' });
    sim.concurrency = { ...sim.concurrency, queuedAhead: 0 };
    play(sim, [{ at: 30, phase: 'Pending', create: ['nightly-0-0'], events: ['Started', 'TaskCreated'], requeueAt: 90 }]);
  });

  it('the run\'s own concurrencyPolicy wins over the JobConfig\'s', () => {
    const sim = new RunSim(makeRun({ materialization: 'Deferred', concurrencyPolicy: 'Allow' }));
    sim.concurrency = { policy: 'Forbid', maxConcurrency: 1, activeRuns: 3, queuedAhead: 0 };
    play(sim, [{ at: 0, phase: 'Pending', create: ['nightly-0-0'], events: ['Started', 'TaskCreated'], requeueAt: 60 }]);
  });

  it('a create the runtime never carried out is requested again after a minute, without a new event', () => {
    const sim = new RunSim(makeRun({ materialization: 'Deferred' }));
    sim.plan({ applyCreates: false });
    expect(sim.ref('nightly-0-0')).toMatchObject({ status: { state: 'Starting', reason: 'CreateRequested' }, creationTimestamp: iso(0) });
    play(sim, [
      { at: 59, phase: 'Pending', requeueAt: 60 },
      { at: 60, phase: 'Pending', create: ['nightly-0-0'], requeueAt: 120 },
      { at: 61, phase: 'Pending', requeueAt: 960 },
    ]);
  });
});

describe('planRun: tasks that vanish', () => {
  it('a finished task keeps its tombstone when its object is deleted', () => {
    const sim = scenario({ template: { parallelism: { withCount: 2 } } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().finish('nightly-0-0', 'Succeeded').running('nightly-1-0'), phase: 'Running', events: ['Started', 'TaskFinished'] },
      { at: 10, world: (s) => s.vanish('nightly-0-0'), phase: 'Running' },
    ]);
    expect(sim.ref('nightly-0-0')).toMatchObject({ finishTimestamp: iso(0), status: { state: 'Terminated', result: 'Succeeded' }, deletedStatus: { result: 'Succeeded' } });
  });

  it('an unfinished task whose object vanished: DeletedFinalStateUnknown, a failed attempt, FinishedUnknown when it was the last', () => {
    const sim = scenario({}, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'] },
      { at: 10, world: (s) => s.vanish('nightly-0-0'), phase: 'FinishedUnknown', events: ['TaskFinished', 'Finished'] },
    ]);
    expect(sim.ref('nightly-0-0')).toMatchObject({ finishTimestamp: iso(10), status: { state: 'DeletedFinalStateUnknown' } });
    expect(sim.status).toMatchObject({ result: 'FinalStateUnknown', reason: 'FinalStateUnknown' });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'True', reason: 'FinalStateUnknown' });
  });

  it('a vanished attempt with attempts left is retried', () => {
    scenario({ template: { maxAttempts: 2 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'] },
      { at: 10, world: (s) => s.vanish('nightly-0-0'), phase: 'Retrying', create: ['nightly-0-1'], events: ['TaskFinished', 'TaskCreated'], requeueAt: 70 },
    ]);
  });

  it('a task deleted by its kill (a watcher-created custom resource) ends Killed with the kill\'s reason', () => {
    const sim = scenario({ template: { maxAttempts: 2, taskTimeoutSeconds: 30 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts(), phase: 'Pending', events: ['Started'], requeueAt: 900 },
      { at: 10, world: (s) => s.finish('nightly-0-0', 'Failed'), phase: 'Retrying', create: ['nightly-0-1'], events: ['TaskFinished', 'TaskCreated'], requeueAt: 70 },
      { at: 20, world: (s) => s.running('nightly-0-1'), phase: 'Running', requeueAt: 50 },
      { at: 50, phase: 'Running', kill: ['nightly-0-1:TaskTimeout'], events: ['TaskTimeout'], requeueAt: 110 },
      { at: 51, world: (s) => s.vanish('nightly-0-1'), phase: 'Failed', events: ['TaskFinished', 'Finished'] },
    ]);
    expect(sim.ref('nightly-0-1')!.status).toEqual({ state: 'Terminated', result: 'Killed', reason: 'TaskTimeout', message: 'Task ran longer than its timeout of 30s' });
  });
});

describe('planRun: create requests the runtime never issued', () => {
  it('a recorded request the runtime did not issue (it crashed or lost its Lease after the status write) is issued at once, without a second TaskCreated', () => {
    const sim = scenario({ materialization: 'Deferred', template: { parallelism: { withCount: 2 } } }, [
      { at: 0, phase: 'Pending', create: ['nightly-0-0', 'nightly-1-0'], events: ['Started', 'TaskCreated', 'TaskCreated'], requeueAt: 60 },
    ]);
    sim.tasks.clear();
    const later = planRun({ ...sim.at(5).snapshot(), issuedCreates: new Set(['nightly-0-0']) });
    expect(summarizePlan(later)).toEqual({ phase: 'Pending', create: ['nightly-1-0'], kill: [], events: [], requeueAt: 60 });
    expect(summarizePlan(planRun({ ...sim.at(5).snapshot(), issuedCreates: new Set(['nightly-0-0', 'nightly-1-0']) }))).toMatchObject({ create: [] });
  });
});

describe('planRun: creates bounded per plan', () => {
  it(`asks for at most ${MAX_CREATES_PER_PLAN} creates a plan and plans again at once; unissued requests count against the bound; no index twice`, () => {
    const count = 2 * MAX_CREATES_PER_PLAN + 200;
    let run = makeRun({ materialization: 'Deferred', template: { parallelism: { withCount: count } } });
    const now = new Date(Date.parse(iso(0)));
    const asked: string[][] = [];
    for (let plan = planRun({ run, tasks: [], now }); ; plan = planRun({ run, tasks: [], now, issuedCreates: new Set(asked.flat()) })) {
      run = { ...run, status: plan.status };
      asked.push(plan.create.map((c) => taskName(run.metadata.name, c.index, c.retryIndex)));
      // Planned again at once while creates are left; then at the reissue time of the requests.
      if (plan.requeueAt?.getTime() !== now.getTime()) break;
    }
    expect(asked.map((creates) => creates.length)).toEqual([MAX_CREATES_PER_PLAN, MAX_CREATES_PER_PLAN, 200]);
    expect(new Set(asked.flat()).size).toBe(count);
    // A new term (nothing issued yet) re-issues the recorded requests, again at most the bound a plan.
    const reissued = planRun({ run, tasks: [], now, issuedCreates: new Set() });
    expect(reissued.create).toHaveLength(MAX_CREATES_PER_PLAN);
    expect(reissued.requeueAt).toEqual(now);
    expect(reissued.events).toEqual([]);
  });
});

describe('planRun: strays (a new object under a finished task\'s name)', () => {
  it('a deleted first attempt GitOps re-creates while its retry runs is stopped in place, reported once, never counted; the run finishes on the retry', () => {
    const sim = scenario({ template: { maxAttempts: 2 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'] },
      { at: 10, world: (s) => s.vanish('nightly-0-0'), phase: 'Retrying', create: ['nightly-0-1'], events: ['TaskFinished', 'TaskCreated'], requeueAt: 70 },
      { at: 20, world: (s) => s.recreate('nightly-0-0').running('nightly-0-1'), phase: 'Running', kill: ['nightly-0-0:StrayTask'], events: ['StrayTask'], requeueAt: 80 },
      { at: 30, world: (s) => s.running('nightly-0-0'), phase: 'Running', requeueAt: 80 },
      { at: 80, phase: 'Running', kill: ['nightly-0-0:StrayTask'], requeueAt: 140 },
      { at: 90, world: (s) => s.finish('nightly-0-1', 'Succeeded').finish('nightly-0-0', 'Succeeded'), phase: 'Succeeded', events: ['TaskFinished', 'Finished'] },
    ]);
    expect(sim.ref('nightly-0-0')!.status).toEqual({ state: 'DeletedFinalStateUnknown' });
    expect(sim.status).toMatchObject({ progress: '1/1', createdTasks: 2, strayTasks: [{ name: 'nightly-0-0', kind: 'Pod', state: 'Terminated' }] });
    expect(sim.condition('StrayTasks')).toMatchObject({ status: 'True', reason: 'StrayTask' });
  });

  it('after the run finished, a re-created first attempt that fails changes no record: progress, results, index states and phase stand', () => {
    const sim = scenario({ template: { parallelism: { withCount: 2 } } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().finish('nightly-0-0', 'Succeeded').finish('nightly-1-0', 'Succeeded'), phase: 'Succeeded', events: ['Started', 'TaskFinished', 'TaskFinished', 'Finished'] },
    ]);
    const record = structuredClone({ tasks: sim.status.tasks, indexes: sim.status.indexes, progress: sim.status.progress, phase: sim.status.phase });
    play(sim, [
      { at: 10, world: (s) => s.vanish('nightly-0-0').recreate('nightly-0-0'), phase: 'Succeeded', kill: ['nightly-0-0:StrayTask'], events: ['StrayTask'], requeueAt: 70 },
      { at: 20, world: (s) => s.finish('nightly-0-0', 'Failed', 'Error'), phase: 'Succeeded' },
    ]);
    expect({ tasks: sim.status.tasks, indexes: sim.status.indexes, progress: sim.status.progress, phase: sim.status.phase }).toStrictEqual(record);
  });

  it('a running task deleted and re-created between two looks: its ref ends DeletedFinalStateUnknown, the new object is a stray, the retry is the next attempt', () => {
    const sim = scenario({ template: { maxAttempts: 2 } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'] },
      {
        at: 10,
        world: (s) => s.vanish('nightly-0-0').recreate('nightly-0-0'),
        phase: 'Retrying',
        create: ['nightly-0-1'],
        kill: ['nightly-0-0:StrayTask'],
        events: ['TaskFinished', 'TaskCreated', 'StrayTask'],
        requeueAt: 70,
      },
    ]);
    expect(sim.ref('nightly-0-0')!.status).toEqual({ state: 'DeletedFinalStateUnknown' });
    expect(sim.status.strayTasks).toHaveLength(1);
  });

  it('the same object seen again after it finished is not a stray, with or without a recorded uid', () => {
    const sim = scenario({}, [{ at: 0, world: (s) => s.applyFirstAttempts().finish('nightly-0-0', 'Failed'), phase: 'Failed', events: ['Started', 'TaskFinished', 'Finished'] }]);
    const { uid: _, ...legacy } = sim.ref('nightly-0-0')!;
    sim.run = { ...sim.run, status: { ...sim.status, tasks: [legacy] } };
    play(sim, [{ at: 10, world: (s) => s.finish('nightly-0-0', 'Succeeded'), phase: 'Failed' }]);
    expect(sim.status.strayTasks).toBeUndefined();
    expect(sim.ref('nightly-0-0')!.status.result).toBe('Failed');
  });
});

describe('planRun: invalid runs', () => {
  it('AdmissionError with Stalled=True and every error; one InvalidSpec event without values; nothing created', () => {
    const sim = new RunSim(makeRun({ materialization: 'Deferred', template: { parallelism: { withKeys: ['a', 'a'] } }, substitutions: { 'option.secret': 'hunter2', 'job.name': 'x' } }));
    const plan = play(sim, [{ at: 0, phase: 'AdmissionError', events: ['InvalidSpec'] }]).lastPlan!;
    expect(sim.status).toMatchObject({
      result: 'AdmissionError',
      reason: 'InvalidSpec',
      message:
        'spec.template.parallelism.withKeys[1]: duplicate value: each must be unique (got "a"); ' +
        'spec.substitutions["job.name"]: job.* and task.* variables are computed by taskplane and cannot be set (got "job.name")',
    });
    expect(plan.events[0]).toEqual({
      type: 'Warning',
      reason: 'InvalidSpec',
      message: 'Run spec is invalid: spec.template.parallelism.withKeys[1]: duplicate value: each must be unique; spec.substitutions["job.name"]: job.* and task.* variables are computed by taskplane and cannot be set',
    });
    expect(conditionStatuses(sim)).toEqual({ Ready: 'False', Reconciling: 'False', Stalled: 'True' });
    expect(sim.condition('Stalled')).toMatchObject({ reason: 'InvalidSpec', message: sim.status.message });
    expect(sim.status.tasks).toBeUndefined();
  });
});

describe('planRun: status for GitOps', () => {
  it('TemplateChanged: an edit after start is reported, observedGeneration follows, and the run goes on', () => {
    const sim = scenario({ template: { maxAttempts: 2 } }, [{ at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Running', events: ['Started'] }]);
    const hash = sim.status.templateHash;
    sim.run = { ...sim.run, metadata: { ...sim.run.metadata, generation: 2 }, spec: { ...sim.run.spec, template: { ...sim.run.spec.template, retryDelaySeconds: 5 } } };
    play(sim, [{ at: 10, phase: 'Running' }]);
    expect(sim.condition('TemplateChanged')).toMatchObject({ status: 'True', reason: 'TemplateChanged', lastTransitionTime: iso(10), observedGeneration: 2 });
    expect(sim.status).toMatchObject({ observedGeneration: 2, templateHash: hash });
    play(sim, [{ at: 20, world: (s) => s.finish('nightly-0-0', 'Failed'), phase: 'RetryBackoff', events: ['TaskFinished', 'RetryScheduled'], requeueAt: 25 }]);
  });

  it('conditions keep lastTransitionTime while their status stays', () => {
    const sim = scenario({}, [
      { at: 0, world: (s) => s.applyFirstAttempts(), phase: 'Pending', events: ['Started'], requeueAt: 900 },
      { at: 10, world: (s) => s.running('nightly-0-0'), phase: 'Running' },
    ]);
    expect(sim.condition('Reconciling')).toMatchObject({ status: 'True', reason: 'Running', lastTransitionTime: iso(0), observedGeneration: 1 });
    play(sim, [{ at: 20, world: (s) => s.finish('nightly-0-0', 'Succeeded'), phase: 'Succeeded', events: ['TaskFinished', 'Finished'] }]);
    expect(sim.condition('Reconciling')).toMatchObject({ status: 'False', lastTransitionTime: iso(20) });
    expect(sim.condition('Stalled')).toMatchObject({ status: 'False', lastTransitionTime: iso(0) });
    expect(sim.condition('Ready')).toMatchObject({ status: 'True', reason: 'Succeeded', lastTransitionTime: iso(20) });
  });

  it('a Rendered run waits for GitOps to apply its first attempts and never creates them itself', () => {
    const sim = scenario({ template: { parallelism: { withCount: 2 } } }, [
      { at: 0, phase: 'Starting', events: ['Started'] },
      { at: 5, world: (s) => s.addTask({ indexNumber: 1 }, 0, false), phase: 'Pending', requeueAt: 905 },
    ]);
    expect(sim.status).toMatchObject({ reason: 'PendingCreation', message: 'Waiting for 1 out of 2 task(s) to be created' });
  });

  it('no event message carries an option value', () => {
    const sim = scenario({ template: { maxAttempts: 2, parallelism: { withCount: 2 } } }, [
      { at: 0, world: (s) => s.applyFirstAttempts().running('nightly-0-0'), phase: 'Pending', events: ['Started'], requeueAt: 900 },
      { at: 9, world: (s) => s.finish('nightly-0-0', 'Failed', 'Error'), phase: 'Retrying', create: ['nightly-0-1'], events: ['TaskFinished', 'TaskCreated'], requeueAt: 69 },
      { at: 900, phase: 'Retrying', kill: ['nightly-1-0:PendingTimeout'], create: ['nightly-1-1'], events: ['TaskFinished', 'PendingTimeout', 'TaskCreated'], requeueAt: 909 },
      { at: 909, world: (s) => s.finish('nightly-0-1', 'Failed'), phase: 'Failed', kill: ['nightly-1-1:CompletionStrategy'], events: ['TaskFinished', 'TaskFinished', 'Killing', 'Finished'] },
    ]);
    expect(sim.events).toHaveLength(10);
    for (const event of sim.events) expect(event.message).not.toContain('hunter2');
  });
});

/** planRun's task refs: kinds, order, first-seen timestamps, tombstones, result payloads. */
import { describe, expect, it } from 'vitest';
import type { TaskTemplate } from '../../engine/schema/index.js';
import { iso, makeRun, RunSim } from './run-sim.js';

const CONDITION = "self.status.phase == 'Done'";

describe('planRun: task refs', () => {
  it.each([
    ['pod', { pod: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } }, 'v1', 'Pod'],
    ['job', { job: { spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox' }] } } } } }, 'batch/v1', 'Job'],
    ['workflow', { workflow: { spec: { entrypoint: 'main', templates: [{ name: 'main' }] } } }, 'argoproj.io/v1alpha1', 'Workflow'],
    ['customResource', { customResource: { manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: {} }, successCondition: CONDITION, failureCondition: CONDITION } }, 'tekton.dev/v1', 'TaskRun'],
  ] as const)('%s tasks are %s %s, with their parallel and retry index', (_, taskTemplate, apiVersion, kind) => {
    const sim = new RunSim(makeRun({ template: { taskTemplate: taskTemplate as TaskTemplate, parallelism: { withKeys: ['eu'] } } }));
    sim.applyFirstAttempts().plan();
    expect(sim.ref('nightly-eu-0')).toMatchObject({ kind, apiVersion, parallelIndex: { indexKey: 'eu' }, retryIndex: 0, creationTimestamp: iso(0) });
  });

  it('sorts by creationTimestamp, then name', () => {
    const sim = new RunSim(makeRun({ template: { parallelism: { withKeys: ['c', 'b', 'a'] } } }));
    sim.at(5).addTask({ indexKey: 'c' }, 0, false);
    sim.at(9).addTask({ indexKey: 'b' }, 0, false);
    sim.at(5).addTask({ indexKey: 'a' }, 0, false);
    sim.at(10).plan();
    expect(sim.status.tasks!.map((t) => t.name)).toEqual(['nightly-a-0', 'nightly-c-0', 'nightly-b-0']);
  });

  it('keeps first-seen timestamps: the object\'s own, else the time the watcher first saw the state; never cleared', () => {
    const sim = new RunSim(makeRun({ template: { parallelism: { withKeys: ['own', 'seen'] } } }));
    sim.applyFirstAttempts();
    sim.observe('nightly-own-0', { state: 'Running', runningTimestamp: iso(-3) });
    sim.observe('nightly-seen-0', { state: 'Running' });
    sim.at(4).plan();
    expect([sim.ref('nightly-own-0')!.runningTimestamp, sim.ref('nightly-seen-0')!.runningTimestamp]).toEqual([iso(-3), iso(4)]);
    sim.observe('nightly-own-0', { state: 'Terminated', result: 'Succeeded', runningTimestamp: iso(-1), finishTimestamp: iso(6) });
    sim.observe('nightly-seen-0', { state: 'Terminated', result: 'Failed' });
    sim.at(8).plan();
    expect(sim.ref('nightly-own-0')).toMatchObject({ runningTimestamp: iso(-3), finishTimestamp: iso(6), deletedStatus: { state: 'Terminated', result: 'Succeeded' } });
    expect(sim.ref('nightly-seen-0')).toMatchObject({ runningTimestamp: iso(4), finishTimestamp: iso(8) });
  });

  it('a task that ended without running has no runningTimestamp', () => {
    const sim = new RunSim(makeRun());
    sim.applyFirstAttempts().observe('nightly-0-0', { state: 'Terminated', result: 'Failed', reason: 'ErrImagePull' });
    sim.at(3).plan();
    expect(sim.ref('nightly-0-0')).toEqual({
      name: 'nightly-0-0',
      kind: 'Pod',
      apiVersion: 'v1',
      parallelIndex: { indexNumber: 0 },
      retryIndex: 0,
      uid: 'uid-1',
      creationTimestamp: iso(0),
      finishTimestamp: iso(3),
      status: { state: 'Terminated', result: 'Failed', reason: 'ErrImagePull' },
      deletedStatus: { state: 'Terminated', result: 'Failed', reason: 'ErrImagePull' },
    });
  });

  it('keeps result payloads: objects as they are, anything else wrapped (the schema stores an object)', () => {
    const sim = new RunSim(makeRun({ template: { parallelism: { withKeys: ['json', 'text'] } } }));
    sim.applyFirstAttempts();
    sim.observe('nightly-json-0', { state: 'Terminated', result: 'Succeeded', taskResult: { rows: 3 } });
    sim.observe('nightly-text-0', { state: 'Terminated', result: 'Succeeded', taskResult: 'done' });
    sim.plan();
    expect([sim.ref('nightly-json-0')!.taskResult, sim.ref('nightly-text-0')!.taskResult]).toEqual([{ rows: 3 }, { value: 'done' }]);
  });

  it('a finished run still stops a first attempt GitOps applies late', () => {
    const sim = new RunSim(makeRun({ killTimestamp: iso(0) }));
    expect(sim.plan().status.phase).toBe('Killed');
    const plan = sim.at(30).applyFirstAttempts().plan();
    expect(plan.kill).toEqual([{ name: 'nightly-0-0', reason: 'RunKilled', message: `Run killed at ${iso(0)}` }]);
    expect(plan.create).toEqual([]);
    expect(plan.status.phase).toBe('Killed');
  });

  it('tasks of an index the template no longer has are listed but not counted', () => {
    const sim = new RunSim(makeRun({ template: { parallelism: { withKeys: ['a'] } } }));
    sim.addTask({ indexKey: 'gone' }, 0, false);
    sim.applyFirstAttempts().plan();
    expect(sim.status.tasks!.map((t) => t.name)).toEqual(['nightly-a-0', 'nightly-gone-0']);
    expect(sim.status.indexes!.map((i) => [i.key, i.createdTasks])).toEqual([['a', 1]]);
  });
});

/**
 * Packing the tasks still going (engine/run/pack.ts): what a packed status keeps, and the three things
 * it decides less precisely than refs, always later and never earlier: strays by creation time,
 * timeouts from the group's latest start, and re-issued requests from the group's latest request.
 */
import { describe, expect, it } from 'vitest';
import type { TaskObservation } from '../../engine/executors/types.js';
import { expandIndexes } from '../../engine/indexes.js';
import { taskName } from '../../engine/names.js';
import { packLiveTasks, unpackLiveTasks } from '../../engine/run/pack.js';
import { planRun, type ObservedTask, type RunPlan } from '../../engine/run/index.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import { iso, makeRun, RUN, T0 } from './run-sim.js';

const POD = { kind: 'Pod', apiVersion: 'v1' };
const PACK = { foldAboveBytes: 0, packAboveBytes: 0 };

/** A run planned with packing at every plan; tasks are observed as the test says. */
class PackedWorld {
  run: JobRunObject;
  readonly tasks = new Map<string, ObservedTask>();
  private uids = 0;
  constructor(run: JobRunObject) {
    this.run = run;
  }
  add(index: number, retryIndex: number, at: number, observation: TaskObservation = { state: 'Starting' }): string {
    const name = taskName(RUN, { indexNumber: index }, retryIndex);
    this.tasks.set(name, { name, index: { indexNumber: index }, retryIndex, uid: `uid-${++this.uids}`, creationTimestamp: iso(at), observation, createdByWatcher: retryIndex > 0 });
    return name;
  }
  observe(name: string, observation: TaskObservation): void {
    this.tasks.set(name, { ...this.tasks.get(name)!, observation });
  }
  plan(at: number): RunPlan {
    const plan = planRun({ run: this.run, tasks: [...this.tasks.values()], now: new Date(T0 + at * 1000), ...PACK });
    this.run = { ...this.run, status: plan.status };
    return plan;
  }
}

describe('packed tasks', () => {
  it('one group per attempt and state, with the latest times; unpacked, the same names, states and kill', () => {
    const indexes = expandIndexes({ withCount: 5 });
    const kill = { reason: 'RunKilled', message: 'stop', timestamp: iso(40) };
    const refs = indexes.map((index, position) => ({
      name: taskName(RUN, index, 0),
      ...POD,
      parallelIndex: { ...index },
      retryIndex: 0,
      uid: `uid-${position}`,
      creationTimestamp: iso(position),
      ...(position < 3 && { runningTimestamp: iso(10 + position) }),
      status: { state: position < 3 ? ('Running' as const) : ('Starting' as const) },
      ...(position === 4 && { killRequest: kill }),
    }));
    const packing = packLiveTasks(refs, indexes);
    expect(packing.refs).toEqual([]);
    expect(packing.groups).toEqual([
      { indexes: '0-2', retryIndex: 0, status: { state: 'Running' }, lastCreationTime: iso(2), lastRunningTime: iso(12) },
      { indexes: '3', retryIndex: 0, status: { state: 'Starting' }, lastCreationTime: iso(3) },
      { indexes: '4', retryIndex: 0, status: { state: 'Starting' }, lastCreationTime: iso(4), killRequest: kill },
    ]);
    const unpacked = unpackLiveTasks(packing.groups, indexes, RUN, POD);
    expect(unpacked.refs.map((ref) => [ref.name, ref.status.state, ref.killRequest?.reason])).toEqual(refs.map((ref) => [ref.name, ref.status.state, ref.killRequest?.reason]));
    expect(unpacked.refs.every((ref) => ref.uid === undefined)).toBe(true);
  });

  it('an object re-created under a packed task\'s name after its group was created is a stray: stopped, reported, and the index retried', () => {
    const world = new PackedWorld(makeRun({ materialization: 'Rendered', template: { maxAttempts: 2, parallelism: { withCount: 2 } } }));
    const first = world.add(0, 0, 0);
    world.add(1, 0, 0);
    world.plan(0);
    expect(world.run.status!.liveTasks).toHaveLength(1);
    // Deleted by hand, then a GitOps sync re-creates it a minute later.
    world.tasks.delete(first);
    world.add(0, 0, 60);
    const plan = world.plan(60);
    expect(plan.kill.map((kill) => `${kill.name}:${kill.reason}`)).toEqual([`${first}:StrayTask`]);
    expect(plan.create).toEqual([{ index: { indexNumber: 0 }, retryIndex: 1 }]);
    expect(world.run.status!.strayTasks?.map((stray) => stray.name)).toEqual([first]);
  });

  it('a task timeout counts from the object\'s own start when it says, else from its group\'s latest start: never earlier', () => {
    const world = new PackedWorld(makeRun({ materialization: 'Rendered', template: { taskTimeoutSeconds: 100, parallelism: { withCount: 2 } } }));
    const early = world.add(0, 0, 0);
    const late = world.add(1, 0, 0);
    world.plan(0);
    // Neither object says when it started: each ref takes the plan's time, then the group keeps the latest.
    world.observe(early, { state: 'Running' });
    world.plan(10);
    world.observe(late, { state: 'Running' });
    world.plan(50);
    expect(world.run.status!.liveTasks).toEqual([expect.objectContaining({ indexes: '0-1', lastRunningTime: iso(50) })]);
    // 100 s after the early task started, the packed status has forgotten it: it waits for the group's latest.
    expect(world.plan(110).kill).toEqual([]);
    expect(world.plan(150).kill.map((kill) => `${kill.name}:${kill.reason}`).sort()).toEqual([`${early}:TaskTimeout`, `${late}:TaskTimeout`]);
  });

  it('an object that says when it started is timed from that, packed or not', () => {
    const world = new PackedWorld(makeRun({ materialization: 'Rendered', template: { taskTimeoutSeconds: 100, parallelism: { withCount: 2 } } }));
    const early = world.add(0, 0, 0, { state: 'Running', runningTimestamp: iso(10) });
    world.add(1, 0, 0, { state: 'Running', runningTimestamp: iso(50) });
    world.plan(50);
    expect(world.plan(110).kill.map((kill) => `${kill.name}:${kill.reason}`)).toEqual([`${early}:TaskTimeout`]);
  });

  it('a create request still unseen is issued again a minute after its group\'s latest request', () => {
    const world = new PackedWorld(makeRun({ materialization: 'Deferred', template: { parallelism: { withCount: 2 } } }));
    const first = world.plan(0);
    expect(first.create).toHaveLength(2);
    expect(world.run.status!.liveTasks).toEqual([expect.objectContaining({ indexes: '0-1', status: { state: 'Starting', reason: 'CreateRequested' }, lastCreationTime: iso(0) })]);
    expect(world.plan(30).create).toEqual([]);
    expect(world.plan(60).create).toHaveLength(2);
  });
});

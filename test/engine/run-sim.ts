/**
 * A fake world for planRun: a clock, the run's task objects, and a runtime that applies each plan
 * (writes the status, creates the requested tasks). Every `plan()` also checks that planning is
 * deterministic and idempotent: planning again on the written status with the same observations
 * gives the same status and requeue time, and no creates, kills or events.
 */
import { expect } from 'vitest';
import type { TaskObservation } from '../../engine/executors/types.js';
import { expandIndexes, type ParallelIndex } from '../../engine/indexes.js';
import { taskName } from '../../engine/names.js';
import { planRun, type ConcurrencyContext, type KillTask, type ObservedTask, type RunPlan, type RunSnapshot } from '../../engine/run/index.js';
import { JobRunStatusSchema, validateAgainst, type JobRunObject, type JobRunSpec, type JobTemplate } from '../../engine/schema/index.js';

export const RUN = 'nightly';
export const T0 = Date.parse('2026-11-21T00:00:00Z');
/** The time `seconds` after T0, as status writes it. */
export const iso = (seconds: number) => new Date(T0 + seconds * 1000).toISOString().replace('.000Z', 'Z');
export const POD_TEMPLATE = { pod: { spec: { containers: [{ name: 'main', image: 'busybox', args: ['${option.secret}'] }] } } };

export interface RunOptions extends Partial<Omit<JobRunSpec, 'template'>> {
  readonly template?: Partial<JobTemplate>;
  readonly generation?: number;
}

export function makeRun({ template, generation = 1, ...spec }: RunOptions = {}): JobRunObject {
  return {
    apiVersion: 'taskplane.dev/v1alpha1',
    kind: 'JobRun',
    metadata: { name: RUN, namespace: 'batch', uid: 'run-uid', generation },
    spec: { configName: 'nightly', substitutions: { 'option.secret': 'hunter2' }, template: { taskTemplate: POD_TEMPLATE, ...template }, ...spec },
  };
}

export class RunSim {
  run: JobRunObject;
  readonly tasks = new Map<string, ObservedTask>();
  /** Seconds since T0. */
  clock = 0;
  concurrency?: ConcurrencyContext;
  lastPlan?: RunPlan;
  private uids = 0;
  /** Every plan's events, in order. */
  readonly events: RunPlan['events'][number][] = [];

  constructor(run: JobRunObject) {
    this.run = run;
  }

  get status() {
    return this.run.status!;
  }

  ref(name: string) {
    return this.run.status?.tasks?.find((ref) => ref.name === name);
  }

  snapshot(): RunSnapshot {
    return { run: this.run, tasks: [...this.tasks.values()], now: new Date(T0 + this.clock * 1000), ...(this.concurrency && { concurrency: this.concurrency }) };
  }

  /**
   * A twin of the run's status that folds finished attempts at every plan (engine/run/fold.ts),
   * planned on the same observations: it must decide exactly what the full status decides.
   */
  private folded?: JobRunObject['status'];
  /**
   * Where folding cannot tell (an object re-created and ended between two looks, created no later
   * than its group's latest finish, fold.ts), the two worlds part: from then on the folded twin is
   * only checked for idempotence.
   */
  private foldingCannotTell = false;
  /** Names re-created since the last plan. */
  private readonly recreatedUnseen = new Set<string>();

  /** Plans, checks determinism and idempotence, then applies the plan as the runtime would. */
  plan(options: { applyCreates?: boolean } = {}): RunPlan {
    const snapshot = this.snapshot();
    const plan = planRun(snapshot);
    const exact = { foldAboveBytes: 0, packAboveBytes: Infinity };
    const twin = planRun({ ...snapshot, run: { ...snapshot.run, status: this.folded }, ...exact });
    if (this.recreatedEndedUnseen()) this.foldingCannotTell = true;
    if (!this.foldingCannotTell) expectSameDecisions(twin, plan);
    expect(planRun({ ...snapshot, run: { ...snapshot.run, status: twin.status }, ...exact }).status).toStrictEqual(twin.status);
    this.folded = twin.status;
    this.planPacked(snapshot, plan);
    expect(planRun(snapshot)).toStrictEqual(plan);
    expect(validateAgainst(JobRunStatusSchema, plan.status, 'status')).toEqual([]);
    const again = planRun({ ...snapshot, run: { ...snapshot.run, status: plan.status } });
    expect({ create: again.create, kill: again.kill, events: again.events }).toEqual({ create: [], kill: [], events: [] });
    expect(again.status).toStrictEqual(plan.status);
    expect(again.requeueAt).toEqual(plan.requeueAt);
    this.run = { ...this.run, status: plan.status };
    if (options.applyCreates ?? true) {
      for (const { index, retryIndex } of plan.create) this.addTask(index, retryIndex, true);
    }
    this.events.push(...plan.events);
    this.lastPlan = plan;
    return plan;
  }

  /**
   * A twin of the run's status that folds and packs at every plan (engine/run/pack.ts), planned on the
   * same observations: it is idempotent and valid, and it never acts earlier or more than the full
   * status: every task it creates or kills, the full status created or killed at this plan or before.
   * Where packing cannot tell (an object re-created in the second its task was created is taken for
   * the task), the two worlds part: from then on the twin is only checked for idempotence and validity.
   */
  private packed?: JobRunObject['status'];
  private packingCannotTell = false;
  private readonly fullCreated = new Set<string>();
  private readonly fullKilled = new Set<string>();

  /** Whether an object re-created since the last plan has ended already, created no later than a recorded finish. */
  private recreatedEndedUnseen(): boolean {
    const finishes = (this.run.status?.tasks ?? []).flatMap((ref) => (ref.finishTimestamp ? [Date.parse(ref.finishTimestamp)] : []));
    const latestFinish = Math.max(-Infinity, ...finishes);
    const ended = [...this.recreatedUnseen].some((name) => {
      const task = this.tasks.get(name);
      return task?.observation.state === 'Terminated' && Date.parse(task.creationTimestamp) <= latestFinish;
    });
    this.recreatedUnseen.clear();
    return ended;
  }

  private planPacked(snapshot: RunSnapshot, full: RunPlan): void {
    const packing = { foldAboveBytes: 0, packAboveBytes: 0 };
    for (const { index, retryIndex } of full.create) this.fullCreated.add(taskName(RUN, index, retryIndex));
    for (const { name } of full.kill) this.fullKilled.add(name);
    const twin = planRun({ ...snapshot, run: { ...snapshot.run, status: this.packed }, ...packing });
    expect(planRun({ ...snapshot, run: { ...snapshot.run, status: twin.status }, ...packing }).status).toStrictEqual(twin.status);
    expect(validateAgainst(JobRunStatusSchema, twin.status, 'status')).toEqual([]);
    this.packed = twin.status;
    if (this.packingCannotTell) return;
    for (const { index, retryIndex } of twin.create) expect([...this.fullCreated]).toContain(taskName(RUN, index, retryIndex));
    for (const { name } of twin.kill) expect([...this.fullKilled]).toContain(name);
  }

  at(seconds: number): this {
    this.clock = seconds;
    return this;
  }

  /** GitOps applies the first attempt of every index of a Rendered run. */
  applyFirstAttempts(): this {
    for (const index of expandIndexes(this.run.spec.template.parallelism)) this.addTask(index, 0, false);
    return this;
  }

  addTask(index: ParallelIndex, retryIndex: number, createdByWatcher: boolean): string {
    const name = taskName(RUN, index, retryIndex);
    const uid = `uid-${++this.uids}`;
    this.tasks.set(name, { name, index, retryIndex, uid, creationTimestamp: iso(this.clock), observation: { state: 'Starting' }, createdByWatcher });
    return name;
  }

  /** A new object under an existing task's name (a GitOps sync re-creating a deleted first attempt). */
  recreate(name: string): this {
    const ref = this.ref(name);
    if (!ref) throw new Error(`no ref ${name}`);
    // Within the second its task was created, packing cannot tell the new object from the task (pack.ts).
    if (ref.creationTimestamp === iso(this.clock)) this.packingCannotTell = true;
    this.recreatedUnseen.add(this.addTask(ref.parallelIndex as ParallelIndex, ref.retryIndex, false));
    return this;
  }

  observe(name: string, observation: TaskObservation): this {
    const task = this.tasks.get(name);
    if (!task) throw new Error(`no task ${name}`);
    this.tasks.set(name, { ...task, observation });
    return this;
  }

  running(name: string): this {
    return this.observe(name, { state: 'Running', runningTimestamp: iso(this.clock) });
  }

  finish(name: string, result: 'Succeeded' | 'Failed' | 'Killed', reason?: string): this {
    const { runningTimestamp } = this.tasks.get(name)!.observation;
    return this.observe(name, { state: 'Terminated', result, ...(reason && { reason }), ...(runningTimestamp && { runningTimestamp }), finishTimestamp: iso(this.clock) });
  }

  vanish(name: string): this {
    this.tasks.delete(name);
    return this;
  }

  /** The kills of the last plan take effect the way a Pod's lowered activeDeadlineSeconds does. */
  honourKills(kills: readonly KillTask[] = this.lastPlan?.kill ?? []): this {
    for (const { name } of kills) if (this.tasks.has(name)) this.finish(name, 'Failed', 'DeadlineExceeded');
    return this;
  }

  condition(type: string) {
    return this.status.conditions?.find((c) => c.type === type);
  }
}

/**
 * A plan on a folded status decides what the plan on the full status decides: the same creates, kills,
 * events, wake-up and run status; the same unfinished refs; and every index it still lists as the
 * full status has it (the others are in foldedTasks).
 */
export function expectSameDecisions(folded: RunPlan, full: RunPlan): void {
  const { tasks, indexes, foldedTasks, ...status } = folded.status;
  const { tasks: fullTasks, indexes: fullIndexes, foldedTasks: none, ...fullStatus } = full.status;
  expect(none).toBeUndefined();
  expect(status.liveTasks).toBeUndefined();
  expect({ status, create: folded.create, kill: folded.kill, events: folded.events, requeueAt: folded.requeueAt }).toStrictEqual({
    status: fullStatus,
    create: full.create,
    kill: full.kill,
    events: full.events,
    requeueAt: full.requeueAt,
  });
  const unfinished = (refs: typeof tasks) => (refs ?? []).filter((ref) => !ref.finishTimestamp);
  expect(unfinished(tasks)).toStrictEqual(unfinished(fullTasks));
  const fullByKey = new Map(fullIndexes?.map((index) => [index.key, index]));
  for (const index of indexes ?? []) expect(index).toStrictEqual(fullByKey.get(index.key));
  if (!foldedTasks) expect({ tasks, indexes }).toStrictEqual({ tasks: fullTasks, indexes: fullIndexes });
}

/** A plan in the terms the scenario tables use. */
export function summarizePlan(plan: RunPlan) {
  return {
    phase: plan.status.phase,
    create: plan.create.map((c) => taskName(RUN, c.index, c.retryIndex)),
    kill: plan.kill.map((k) => `${k.name}:${k.reason}`),
    events: plan.events.map((e) => e.reason),
    requeueAt: plan.requeueAt ? (plan.requeueAt.getTime() - T0) / 1000 : undefined,
  };
}

/**
 * Property: for random runs and random sequences of what their tasks do, every plan is deterministic,
 * idempotent (checked inside RunSim.plan) and keeps the invariants a watcher relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TERMINAL_PHASES } from '../../engine/run/index.js';
import { taskName } from '../../engine/names.js';
import type { RetryRuleSpec } from '../../engine/schema/template.js';
import { iso, makeRun, RunSim } from './run-sim.js';

/** Retry rule sets over what the simulated tasks do (fail with Error, get evicted, time out). */
const RULE_SETS: Record<string, RetryRuleSpec[]> = {
  evictionNotCounted: [{ name: 'eviction', when: 'reason == "Evicted"', action: 'RetryNotCounted' }],
  errorFailsIndex: [{ name: 'error', when: 'reason == "Error" && attempt >= 2', action: 'FailIndex' }, { when: 'reason == "Evicted"', action: 'RetryNotCounted' }],
  timeoutFailsRun: [{ name: 'timeout', when: 'reason in ["PendingTimeout", "TaskTimeout", "Evicted"]', action: 'FailRun' }],
};

const runConfig = fc.record({
  count: fc.integer({ min: 1, max: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  retryDelaySeconds: fc.constantFrom(0, 30),
  taskPendingTimeoutSeconds: fc.constantFrom(0, 60, undefined),
  taskTimeoutSeconds: fc.constantFrom(0, 90, undefined),
  completionStrategy: fc.constantFrom('AllSuccessful' as const, 'AnySuccessful' as const),
  materialization: fc.constantFrom('Rendered' as const, 'Deferred' as const),
  killAt: fc.option(fc.integer({ min: 0, max: 900 }), { nil: undefined }),
  rules: fc.constantFrom(undefined, ...Object.keys(RULE_SETS)),
  maxUncountedRetries: fc.constantFrom(undefined, 1),
});

const change = fc.record({ pick: fc.nat(), to: fc.constantFrom('run', 'succeed', 'fail', 'evict', 'vanish', 'killing', 'honourKill', 'recreate') });
const step = fc.record({
  advance: fc.integer({ min: 0, max: 120 }),
  gitOpsApplies: fc.boolean(),
  /** False: the informer has not seen the created objects yet; they appear at the next step. */
  createsSeen: fc.boolean(),
  changes: fc.array(change, { maxLength: 3 }),
});

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

function simulate(config: ValueOf<typeof runConfig>, steps: readonly ValueOf<typeof step>[]): void {
  const { count, completionStrategy, materialization, killAt, rules, maxUncountedRetries, ...template } = config;
  const retryRules = rules === undefined ? undefined : RULE_SETS[rules];
  const run = makeRun({
    materialization,
    ...(killAt !== undefined && { killTimestamp: iso(killAt) }),
    template: { ...template, parallelism: { withCount: count, completionStrategy }, ...(retryRules && { retryRules, ...(maxUncountedRetries !== undefined && { maxUncountedRetries }) }) },
  });
  const uncountedCap = retryRules?.some((rule) => rule.action === 'RetryNotCounted') ? (maxUncountedRetries ?? 10) : 0;
  /** Indexes a FailIndex or FailRun decision ended: never attempted again. */
  const ended = new Set<string>();
  const sim = new RunSim(run);
  const everObserved = new Set<string>();
  let lagging: { index: { indexNumber?: number }; retryIndex: number }[] = [];
  let gitOpsApplied = false;
  let finishedAs: string | undefined;
  /** Every finished task's ref as first recorded: a record never changes. */
  const finishedRefs = new Map<string, unknown>();
  for (const { advance, gitOpsApplies, createsSeen, changes } of steps) {
    sim.at(sim.clock + advance);
    for (const { index, retryIndex } of lagging) if (!sim.tasks.has(taskName('nightly', index, retryIndex))) sim.addTask(index, retryIndex, true);
    lagging = [];
    if (materialization === 'Rendered' && gitOpsApplies && !gitOpsApplied) {
      sim.applyFirstAttempts();
      gitOpsApplied = true;
    }
    for (const { pick, to } of changes) applyChange(sim, pick, to);
    for (const name of sim.tasks.keys()) everObserved.add(name);

    const plan = sim.plan({ applyCreates: createsSeen });
    if (!createsSeen) lagging = [...plan.create];
    const status = plan.status;
    for (const create of plan.create) {
      expect(create.retryIndex).toBeLessThan(config.maxAttempts + uncountedCap);
      expect(ended.has(JSON.stringify(create.index))).toBe(false);
      expect(everObserved.has(taskName('nightly', create.index, create.retryIndex))).toBe(false);
      if (materialization === 'Rendered') expect(create.retryIndex).toBeGreaterThan(0);
    }
    // A kill names a task still going, one that never ran and ends with this very kill, or a live stray.
    const endedByKill = (name: string, reason: string) =>
      reason === 'StrayTask'
        ? status.strayTasks?.some((stray) => stray.name === name && stray.uid === sim.tasks.get(name)?.uid && stray.state !== 'Terminated')
        : status.tasks?.some((ref) => ref.name === name && (!ref.finishTimestamp || (ref.killRequest?.reason === reason && !ref.runningTimestamp)));
    for (const kill of plan.kill) expect(endedByKill(kill.name, kill.reason)).toBe(true);
    if (finishedAs) {
      expect(status.phase).toBe(finishedAs);
      expect(plan.create).toEqual([]);
    }
    if (TERMINAL_PHASES.has(status.phase)) finishedAs ??= status.phase;
    for (const ref of status.tasks ?? []) {
      if (ref.retryRule?.action === 'FailIndex' || ref.retryRule?.action === 'FailRun') ended.add(JSON.stringify(ref.parallelIndex));
      if (ref.retryRule?.action === 'FailRun') expect(TERMINAL_PHASES.has(status.phase) || status.phase === 'Terminating' || status.phase === 'Killing').toBe(true);
      if (finishedRefs.has(ref.name)) expect(ref).toStrictEqual(finishedRefs.get(ref.name));
      else if (ref.finishTimestamp) finishedRefs.set(ref.name, ref);
    }
    // A stray is never an attempt: it is stopped while it goes, and only the watcher's requests add refs.
    const strayNames = new Set(status.strayTasks?.map((stray) => stray.name));
    for (const stray of status.strayTasks ?? []) {
      expect(finishedRefs.has(stray.name)).toBe(true);
      const live = sim.tasks.get(stray.name);
      if (live?.uid === stray.uid && live.observation.state !== 'Terminated') expect(stray.killRequest?.reason).toBe('StrayTask');
    }
    if (strayNames.size) expect(status.conditions?.find((c) => c.type === 'StrayTasks')?.status).toBe('True');
    const names = status.tasks?.map((ref) => ref.name) ?? [];
    expect(new Set(names).size).toBe(names.length);
    expect(status.createdTasks ?? 0).toBe(names.length);
    expect(names.length).toBeLessThanOrEqual(count * (config.maxAttempts + uncountedCap));
    const uncounted = (status.tasks ?? []).filter((ref) => ref.retryRule?.action === 'RetryNotCounted');
    for (let index = 0; index < count; index++) expect(uncounted.filter((ref) => ref.parallelIndex.indexNumber === index).length).toBeLessThanOrEqual(uncountedCap);
    const conditions = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));
    const terminal = TERMINAL_PHASES.has(status.phase);
    expect(conditions).toMatchObject({
      Ready: status.phase === 'Succeeded' ? 'True' : 'False',
      Reconciling: terminal ? 'False' : 'True',
      Stalled: terminal && status.phase !== 'Succeeded' ? 'True' : 'False',
    });
    // A finished run still stops late tasks (a first attempt GitOps applied after a kill); otherwise it sleeps.
    const unfinished = [...(status.tasks ?? []).filter((ref) => !ref.finishTimestamp), ...(status.strayTasks ?? []).filter((stray) => stray.state !== 'Terminated')];
    if (terminal && unfinished.length === 0) expect(plan.requeueAt).toBeUndefined();
    for (const event of plan.events) expect(event.message).not.toContain('hunter2');
  }
}

function applyChange(sim: RunSim, pick: number, to: string): void {
  if (to === 'recreate') {
    // A new object under a recorded task's name (GitOps re-creating one deleted by hand), live or gone.
    const recorded = (sim.run.status?.tasks ?? []).filter((ref) => ref.status.reason !== 'CreateRequested').map((ref) => ref.name);
    if (recorded.length === 0) return;
    const name = recorded[pick % recorded.length]!;
    sim.vanish(name).recreate(name);
    return;
  }
  const names = [...sim.tasks.keys()].sort();
  if (names.length === 0) return;
  const name = names[pick % names.length]!;
  const { state } = sim.tasks.get(name)!.observation;
  if (state === 'Terminated') {
    if (to === 'vanish') sim.vanish(name);
    return;
  }
  if (to === 'run' && state === 'Starting') sim.running(name);
  else if (to === 'succeed') sim.finish(name, 'Succeeded');
  else if (to === 'fail') sim.finish(name, 'Failed', 'Error');
  else if (to === 'evict') sim.finish(name, 'Killed', 'Evicted');
  else if (to === 'vanish') sim.vanish(name);
  else if (to === 'killing') sim.observe(name, { ...sim.tasks.get(name)!.observation, state: 'Killing' });
  else if (to === 'honourKill' && sim.ref(name)?.killRequest) sim.finish(name, 'Failed', 'DeadlineExceeded');
}

describe('planRun properties', () => {
  // 300 runs take ~5 s on an idle machine and up to 26 s under load: the timeout leaves room for that.
  it('deterministic, idempotent, never creates an attempt twice, finished runs stay finished, kstatus agrees with the phase, a folded status decides the same, a packed one never acts earlier', () => {
    fc.assert(fc.property(runConfig, fc.array(step, { minLength: 1, maxLength: 20 }), simulate), { numRuns: 300 });
  }, 120_000);
});

describe('planRun regressions found by the property', () => {
  it('a pending timeout that fails the run stops the other index without leaving its timeout as a wake-up', () => {
    simulate(
      { count: 2, maxAttempts: 2, retryDelaySeconds: 0, taskPendingTimeoutSeconds: 60, taskTimeoutSeconds: 0, completionStrategy: 'AllSuccessful', materialization: 'Rendered', killAt: undefined, rules: undefined, maxUncountedRetries: undefined },
      [
        { advance: 0, gitOpsApplies: true, createsSeen: false, changes: [] },
        { advance: 60, gitOpsApplies: false, createsSeen: false, changes: [{ pick: 0, to: 'run' }] },
        { advance: 0, gitOpsApplies: false, createsSeen: false, changes: [{ pick: 0, to: 'fail' }] },
        { advance: 23, gitOpsApplies: false, createsSeen: false, changes: [] },
        { advance: 37, gitOpsApplies: false, createsSeen: false, changes: [] },
      ],
    );
  });

  it('an object re-created and ended within the second its task finished: the full status reports the stray, the folded twin cannot tell', () => {
    simulate(
      { count: 1, maxAttempts: 1, retryDelaySeconds: 0, taskPendingTimeoutSeconds: 0, taskTimeoutSeconds: 0, completionStrategy: 'AllSuccessful', materialization: 'Rendered', killAt: undefined, rules: undefined, maxUncountedRetries: undefined },
      [
        { advance: 0, gitOpsApplies: true, createsSeen: false, changes: [{ pick: 0, to: 'succeed' }] },
        { advance: 0, gitOpsApplies: false, createsSeen: false, changes: [{ pick: 0, to: 'recreate' }, { pick: 0, to: 'evict' }] },
        { advance: 0, gitOpsApplies: false, createsSeen: false, changes: [] },
      ],
    );
  });
});

/**
 * Retry rules through the whole planner: a live object goes through its executor's observe, the
 * planner judges the finished attempt with the run's rules, and the table checks the decision kept in
 * the attempt's ref and what the plan does next. Every plan also checks idempotence and that a
 * folding twin decides the same (run-sim.ts).
 */
import { describe, expect, it } from 'vitest';
import { customResourceExecutor } from '../../engine/executors/custom-resource.js';
import { podExecutor } from '../../engine/executors/pod.js';
import type { LiveTask, TaskObservation } from '../../engine/executors/types.js';
import { workflowExecutor } from '../../engine/executors/workflow.js';
import type { RetryRuleSpec, TaskTemplate } from '../../engine/schema/template.js';
import { iso, makeRun, POD_TEMPLATE, RunSim, summarizePlan } from './run-sim.js';

const EVICTION = 'result == "Killed" && reason in ["Evicted", "EvictionByEvictionAPI", "PreemptionByScheduler", "DeletionByTaintManager", "DeletionByPodGC", "TerminationByKubelet"]';
const RULES: RetryRuleSpec[] = [
  { name: 'eviction', when: EVICTION, action: 'RetryNotCounted' },
  { name: 'oom', when: 'reason == "OOMKilled"', action: 'FailIndex' },
  { name: 'bad-input', when: 'exitCodes.exists(code, code in [42])', action: 'FailRun' },
  { name: 'main-3', when: '"main" in containerExitCodes && containerExitCodes["main"] == 3', action: 'FailIndex' },
  { name: 'slow-retry', when: 'attempt >= 2 && durationSeconds > 100', action: 'FailIndex' },
];
const WORKFLOW_RULES: RetryRuleSpec[] = [
  // Argo's retryPolicy OnError: retry errors (infrastructure), not failures (the program's own).
  { name: 'workflow-error', when: 'reason == "Error"', action: 'Retry' },
  { when: 'reason == "Failed"', action: 'FailIndex' },
];
const CR_RULES: RetryRuleSpec[] = [{ name: 'not-retryable', when: 'taskResult.retryable == false', action: 'FailIndex' }];

const WORKFLOW_TEMPLATE: TaskTemplate = { workflow: { spec: { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'busybox' } }] } } };
const CR_TEMPLATE: TaskTemplate = {
  customResource: {
    manifest: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: {} },
    successCondition: 'self.status.conditions.exists(c, c.type == "Succeeded" && c.status == "True")',
    failureCondition: 'self.status.conditions.exists(c, c.type == "Succeeded" && c.status == "False")',
    resultExpression: 'self.status.results',
  },
};

const live = (apiVersion: string, kind: string, status: object): LiveTask => ({
  object: { apiVersion, kind, metadata: { name: 'nightly-0-0', creationTimestamp: iso(0) }, spec: {}, status: { ...status } },
  createdByWatcher: false,
});
const terminated = (name: string, exitCode: number, reason = 'Error') => ({ name, state: { terminated: { exitCode, reason, startedAt: iso(10), finishedAt: iso(20) } } });
const failedPod = (containers: object[], extra: object = {}) => podExecutor.observe(live('v1', 'Pod', { phase: 'Failed', startTime: iso(5), containerStatuses: containers, ...extra }), { spec: {} });
const disrupted = (reason: string) => failedPod([terminated('main', 143)], { conditions: [{ type: 'DisruptionTarget', status: 'True', reason, message: 'disrupted' }] });
const finishedWorkflow = (phase: string) =>
  workflowExecutor.observe(live('argoproj.io/v1alpha1', 'Workflow', { phase, startedAt: iso(10), finishedAt: iso(20), message: 'child failed' }), { spec: {} });
const taskRun = (results: object) =>
  customResourceExecutor.observe(
    live('tekton.dev/v1', 'TaskRun', { conditions: [{ type: 'Succeeded', status: 'False', reason: 'Failed' }], results }),
    CR_TEMPLATE.customResource!,
  );

/** A run with maxAttempts 3 whose first attempt ends as `observation`: the decision and the plan that follows. */
function judgeFirstAttempt(taskTemplate: TaskTemplate, retryRules: RetryRuleSpec[], observation: TaskObservation) {
  const sim = new RunSim(makeRun({ template: { taskTemplate, maxAttempts: 3, retryRules } }));
  sim.at(0).applyFirstAttempts().plan();
  sim.at(10).running('nightly-0-0').plan();
  sim.at(20).observe('nightly-0-0', observation);
  const plan = summarizePlan(sim.plan());
  return { decision: sim.ref('nightly-0-0')!.retryRule, phase: plan.phase, create: plan.create, sim };
}

describe('retry rules: which rule decides, table', () => {
  it.each<[string, TaskTemplate, RetryRuleSpec[], TaskObservation, { rule: string; action: string } | undefined, string]>([
    ['exit code 1: no rule holds, a counted retry', POD_TEMPLATE, RULES, failedPod([terminated('main', 1)]), undefined, 'Retrying'],
    ['exit code 42 of any container: FailRun', POD_TEMPLATE, RULES, failedPod([terminated('main', 0, 'Completed'), terminated('sidecar', 42)]), { rule: 'bad-input', action: 'FailRun' }, 'Failed'],
    ['exit code 42 of an init container: FailRun', POD_TEMPLATE, RULES, failedPod([], { initContainerStatuses: [terminated('migrate', 42)] }), { rule: 'bad-input', action: 'FailRun' }, 'Failed'],
    ['exit code 3 of main: FailIndex', POD_TEMPLATE, RULES, failedPod([terminated('main', 3)]), { rule: 'main-3', action: 'FailIndex' }, 'Failed'],
    ['exit code 3 of another container: no rule', POD_TEMPLATE, RULES, failedPod([terminated('main', 0, 'Completed'), terminated('sidecar', 3)]), undefined, 'Retrying'],
    ['OOMKilled: FailIndex (before bad-input, though it exited 137)', POD_TEMPLATE, RULES, failedPod([terminated('main', 137, 'OOMKilled')]), { rule: 'oom', action: 'FailIndex' }, 'Failed'],
    ['kubelet eviction (status.reason Evicted): RetryNotCounted', POD_TEMPLATE, RULES, failedPod([terminated('main', 137)], { reason: 'Evicted', message: 'low on memory' }), { rule: 'eviction', action: 'RetryNotCounted' }, 'Retrying'],
    ['eviction API (a drain): RetryNotCounted', POD_TEMPLATE, RULES, disrupted('EvictionByEvictionAPI'), { rule: 'eviction', action: 'RetryNotCounted' }, 'Retrying'],
    ['preemption: RetryNotCounted', POD_TEMPLATE, RULES, disrupted('PreemptionByScheduler'), { rule: 'eviction', action: 'RetryNotCounted' }, 'Retrying'],
    ['node lost, Pod garbage-collected: RetryNotCounted', POD_TEMPLATE, RULES, disrupted('DeletionByPodGC'), { rule: 'eviction', action: 'RetryNotCounted' }, 'Retrying'],
    ['Workflow Error: Retry (Argo OnError)', WORKFLOW_TEMPLATE, WORKFLOW_RULES, finishedWorkflow('Error'), { rule: 'workflow-error', action: 'Retry' }, 'Retrying'],
    ['Workflow Failed: FailIndex by an unnamed rule', WORKFLOW_TEMPLATE, WORKFLOW_RULES, finishedWorkflow('Failed'), { rule: 'retryRules[1]', action: 'FailIndex' }, 'Failed'],
    ['custom resource result retryable false: FailIndex', CR_TEMPLATE, CR_RULES, taskRun({ retryable: false }), { rule: 'not-retryable', action: 'FailIndex' }, 'Failed'],
    ['custom resource result retryable true: no rule', CR_TEMPLATE, CR_RULES, taskRun({ retryable: true }), undefined, 'Retrying'],
    ['custom resource result without the field: the rule does not hold', CR_TEMPLATE, CR_RULES, taskRun({ rows: 3 }), undefined, 'Retrying'],
  ])('%s', (_name, taskTemplate, rules, observation, expected, phase) => {
    const judged = judgeFirstAttempt(taskTemplate, rules, observation);
    expect(judged.decision).toEqual(expected);
    // A retry is created at once (no delay): Retrying; a decision that ends the index ends this one-index run.
    expect(judged.phase).toBe(phase);
    expect(judged.create).toEqual(phase === 'Retrying' ? ['nightly-0-1'] : []);
  });

  it('reads the attempt number and running time: a slow second attempt ends the index', () => {
    const { sim } = judgeFirstAttempt(POD_TEMPLATE, RULES, failedPod([terminated('main', 1)]));
    sim.at(30).running('nightly-0-1').plan();
    // 30 s to 150 s: 120 s running, on attempt 2.
    sim.at(150).observe('nightly-0-1', { ...failedPod([terminated('main', 1)]), runningTimestamp: iso(30), finishTimestamp: iso(150) });
    expect(summarizePlan(sim.plan())).toMatchObject({ phase: 'Failed', create: [] });
    expect(sim.ref('nightly-0-1')!.retryRule).toEqual({ rule: 'slow-retry', action: 'FailIndex' });
    expect(sim.status.indexes).toEqual([{ index: { indexNumber: 0 }, key: '0', createdTasks: 2, state: 'Terminated', result: 'Failed' }]);
    expect(sim.events.map((e) => e.message)).toContain('Task nightly-0-1 finished: Failed (Error); retry rule slow-retry decided FailIndex');
  });

  it('judges an attempt once: a rule edited later does not change a recorded decision', () => {
    const { sim } = judgeFirstAttempt(POD_TEMPLATE, RULES, failedPod([terminated('main', 137, 'OOMKilled')]));
    sim.run = { ...sim.run, spec: { ...sim.run.spec, template: { ...sim.run.spec.template, retryRules: [{ name: 'oom', when: 'reason == "OOMKilled"', action: 'Retry' }] } } };
    sim.at(40).plan();
    expect(sim.ref('nightly-0-0')!.retryRule).toEqual({ rule: 'oom', action: 'FailIndex' });
    expect(sim.status.phase).toBe('Failed');
  });
});

describe('retry rules: what the decisions do to a run', () => {
  const twoIndexes = (strategy: 'AllSuccessful' | 'AnySuccessful') =>
    new RunSim(makeRun({ template: { maxAttempts: 3, retryRules: RULES, parallelism: { withCount: 2, completionStrategy: strategy } } }));

  it('FailIndex stops retries for that index only: the other index retries and the run succeeds (AnySuccessful)', () => {
    const sim = twoIndexes('AnySuccessful');
    sim.at(0).applyFirstAttempts().plan();
    sim.at(10).running('nightly-0-0').running('nightly-1-0').plan();
    sim.at(20).observe('nightly-0-0', failedPod([terminated('main', 137, 'OOMKilled')]));
    sim.observe('nightly-1-0', failedPod([terminated('main', 1)]));
    expect(summarizePlan(sim.plan())).toMatchObject({ phase: 'Retrying', create: ['nightly-1-1'], kill: [] });
    sim.at(30).running('nightly-1-1').plan();
    sim.at(40).finish('nightly-1-1', 'Succeeded');
    expect(summarizePlan(sim.plan())).toMatchObject({ phase: 'Succeeded', create: [] });
    expect(sim.status.indexes!.map((i) => [i.key, i.createdTasks, i.result])).toEqual([['0', 1, 'Failed'], ['1', 2, 'Succeeded']]);
  });

  it('FailRun fails the run at once, whatever the completion strategy, and stops the other tasks', () => {
    const sim = twoIndexes('AnySuccessful');
    sim.at(0).applyFirstAttempts().plan();
    sim.at(10).running('nightly-0-0').running('nightly-1-0').plan();
    sim.at(20).observe('nightly-0-0', failedPod([terminated('main', 42)]));
    const plan = sim.plan();
    expect(summarizePlan(plan)).toMatchObject({ phase: 'Terminating', create: [], kill: ['nightly-1-0:FailRun'] });
    expect(plan.kill[0]!.message).toBe('Index 0 failed and retry rule bad-input decided FailRun; stopping the remaining tasks');
    sim.at(25).honourKills().plan();
    expect(sim.status).toMatchObject({ phase: 'Failed', result: 'Failed', reason: 'FailRun', message: 'Index 0 failed and retry rule bad-input decided FailRun' });
    expect(sim.ref('nightly-1-0')!.status).toMatchObject({ result: 'Killed', reason: 'FailRun' });
    // The stopped task is not judged: it ended because the run did.
    expect(sim.ref('nightly-1-0')!.retryRule).toBeUndefined();
    expect(sim.status.tasks!.length).toBe(2);
  });

  it('RetryNotCounted: evictions do not use attempts, up to maxUncountedRetries; past it they count', () => {
    const sim = new RunSim(makeRun({ template: { maxAttempts: 2, maxUncountedRetries: 2, retryRules: RULES } }));
    sim.at(0).applyFirstAttempts().plan();
    const evict = (name: string, at: number) => {
      sim.at(at).running(name).plan();
      sim.at(at + 5).observe(name, { ...failedPod([terminated('main', 137)], { reason: 'Evicted' }), runningTimestamp: iso(at), finishTimestamp: iso(at + 5) });
      return summarizePlan(sim.plan());
    };
    expect(evict('nightly-0-0', 10)).toMatchObject({ phase: 'Retrying', create: ['nightly-0-1'] });
    expect(evict('nightly-0-1', 20)).toMatchObject({ phase: 'Retrying', create: ['nightly-0-2'] });
    // The third eviction is past the cap: it counts, leaving one counted attempt of the two.
    expect(evict('nightly-0-2', 30)).toMatchObject({ phase: 'Retrying', create: ['nightly-0-3'] });
    expect(sim.ref('nightly-0-2')!.retryRule).toEqual({ rule: 'eviction', action: 'Retry', uncountedCapReached: true });
    expect(sim.events.filter((e) => e.reason === 'TaskCreated').map((e) => e.message).at(-1)).toBe('Created task nightly-0-3 (index 0, attempt 4, past maxAttempts 2 by uncounted retries)');
    expect(evict('nightly-0-3', 40)).toMatchObject({ phase: 'Failed', create: [] });
    expect(sim.status.indexes).toEqual([{ index: { indexNumber: 0 }, key: '0', createdTasks: 4, state: 'Terminated', result: 'Failed' }]);
  });

  it('without a matching rule, a run plans exactly as without rules (defaults keep today\'s behaviour)', () => {
    const steps = (sim: RunSim) => {
      const plans = [];
      sim.at(0).applyFirstAttempts();
      plans.push(sim.plan());
      plans.push(sim.at(10).running('nightly-0-0').running('nightly-1-0').plan());
      plans.push(sim.at(20).finish('nightly-0-0', 'Failed', 'Error').plan());
      plans.push(sim.at(30).finish('nightly-1-0', 'Killed', 'DeadlineExceeded').plan());
      plans.push(sim.at(90).plan());
      plans.push(sim.at(100).running('nightly-0-1').finish('nightly-0-1', 'Succeeded').plan());
      plans.push(sim.at(110).running('nightly-1-1').finish('nightly-1-1', 'Succeeded').plan());
      return plans;
    };
    const template = { maxAttempts: 2, retryDelaySeconds: 60, parallelism: { withCount: 2 } };
    const without = steps(new RunSim(makeRun({ template })));
    const withRules = steps(new RunSim(makeRun({ template: { ...template, retryRules: [{ when: 'reason == "NeverSeen"', action: 'FailRun' }] } })));
    // Only the template's hash differs (it covers the rules).
    const withoutHash = (plans: ReturnType<typeof steps>) => plans.map(({ status: { templateHash, ...status }, ...plan }) => ({ ...plan, status }));
    expect(withoutHash(withRules)).toStrictEqual(withoutHash(without));
    expect(withRules.at(-1)!.status.phase).toBe('Succeeded');
  });
});

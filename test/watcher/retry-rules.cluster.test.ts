/**
 * Retry rules against the real control plane: runs applied the way Argo CD applies them, Pod outcomes
 * written the way a kubelet writes them (exit codes, an eviction), and the watcher deciding by the
 * run's rules: FailIndex stops one index, FailRun stops the run and kills the rest, an eviction is
 * retried without using an attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompletionStrategy, Parallelism, RetryRule, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { finishedStatus } from '../cluster/kubelet.js';
import { applyAsGitOps, ARGOCD, events, listTasks, markPodRunning, podTask, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const client = testClient();
let watcher: Watcher;
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-retry');
  watcher = await startWatcher({ namespace: ns.name });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

type PodObject = KubeObject & { spec: { containers: { name: string; image: string }[]; activeDeadlineSeconds?: number }; status?: { startTime?: string } };

const pod = (name: string) => waitUntil(`pod ${name}`, () => client.get<PodObject>('v1', 'Pod', ns.name, name));
const podNames = async (run: string) => (await listTasks(client, ns.name, 'v1', 'Pod', run)).map((p) => p.metadata.name);

/** Node-pressure eviction as a kubelet (1.27+) reports it: phase Failed, reason Evicted, DisruptionTarget. */
async function evict(name: string): Promise<void> {
  const live = await pod(name);
  const status = finishedStatus(live, 'Failed', 137);
  const disruption = { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message: 'The node was low on resource: memory.', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
  await client.mergePatch(live, { status: { ...status, reason: 'Evicted', message: 'The node was low on resource: memory.', conditions: [...status.conditions, disruption] } }, 'status');
}

/** What a kubelet does once the watcher lowered activeDeadlineSeconds: the Pod fails with DeadlineExceeded. */
async function enforceDeadline(name: string): Promise<void> {
  const live = await waitUntil(`activeDeadlineSeconds on ${name}`, async () => {
    const p = await client.get<PodObject>('v1', 'Pod', ns.name, name);
    return p.spec.activeDeadlineSeconds ? p : undefined;
  });
  await client.mergePatch(live, { status: { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' } }, 'status');
}

/** Run r1 of a config with two indexes (AnySuccessful: one failed index alone does not end the run), three attempts each and `rule`. */
async function applyTwoIndexRun(name: string, rule: RetryRule): Promise<void> {
  const parallelism = Parallelism.withCount(2, { completionStrategy: CompletionStrategy.ANY_SUCCESSFUL });
  const props = { name, maxAttempts: 3, parallelism, retryRules: [rule], task: TaskTemplate.pod({ spec: podTask() }) };
  const { config, run, tasks } = synthRun(ns.name, props, (c) => c.run('r1', {}));
  await applyAsGitOps([config, run, ...tasks]);
}

const finishedEvent = (run: string) =>
  waitUntil(`the Finished event of ${run}`, async () => {
    const seen = await events(client, ns.name, run);
    return seen.some((e) => e.reason === 'Finished') ? seen : undefined;
  });

describe('retry rules in the cluster', () => {
  it('FailIndex stops retries for that index only; the other index retries and succeeds', async () => {
    await applyTwoIndexRun('shards', RetryRule.onExitCodes([42]).failIndex());
    await pod('shards-r1-0-0');
    await finishPod(ns.name, 'shards-r1-0-0', 'Failed', { exitCode: 42 });
    await waitForRun(client, ns.name, 'shards-r1', 'index 0 judged', (r) => r.status?.tasks?.some((t) => t.name === 'shards-r1-0-0' && t.retryRule !== undefined) ?? false);
    await finishPod(ns.name, 'shards-r1-1-0', 'Failed', { exitCode: 1 });
    await pod('shards-r1-1-1');
    await finishPod(ns.name, 'shards-r1-1-1', 'Succeeded');

    const done = await waitForRun(client, ns.name, 'shards-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks!.map((t) => [t.name, t.status.result, t.retryRule])).toEqual([
      ['shards-r1-0-0', 'Failed', { rule: 'exit-codes-42', action: 'FailIndex' }],
      ['shards-r1-1-0', 'Failed', undefined],
      ['shards-r1-1-1', 'Succeeded', undefined],
    ]);
    expect(done.status!.indexes!.map((i) => [i.key, i.createdTasks, i.result])).toEqual([['0', 1, 'Failed'], ['1', 2, 'Succeeded']]);
    // Index 0 never got a second attempt, though it had two left.
    expect(await podNames('shards-r1')).toEqual(['shards-r1-0-0', 'shards-r1-1-0', 'shards-r1-1-1']);
    const seen = await finishedEvent('shards-r1');
    expect(seen.map((e) => e.message)).toContain('Task shards-r1-0-0 finished: Failed (Error); retry rule exit-codes-42 decided FailIndex');
  });

  it('FailRun fails the run and kills the other tasks in place, whatever the completion strategy', async () => {
    await applyTwoIndexRun('loader', RetryRule.onExitCodes([2]).named('bad-input').failRun());
    await pod('loader-r1-1-0');
    await markPodRunning(client, ns.name, 'loader-r1-1-0');
    await waitForRun(client, ns.name, 'loader-r1', 'index 1 running', (r) => r.status?.tasks?.some((t) => t.name === 'loader-r1-1-0' && t.runningTimestamp !== undefined) ?? false);
    await finishPod(ns.name, 'loader-r1-0-0', 'Failed', { exitCode: 2 });

    // The watcher stops the running task of the other index in place; the kubelet then ends it.
    const killing = await waitForRun(client, ns.name, 'loader-r1', 'the other task killed', (r) => r.status?.tasks?.some((t) => t.killRequest?.reason === 'FailRun') ?? false);
    expect(killing.status!.tasks!.find((t) => t.name === 'loader-r1-1-0')!.killRequest).toMatchObject({
      reason: 'FailRun',
      message: 'Index 0 failed and retry rule bad-input decided FailRun; stopping the remaining tasks',
    });
    await enforceDeadline('loader-r1-1-0');

    const done = await waitForRun(client, ns.name, 'loader-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(done.status).toMatchObject({ result: 'Failed', reason: 'FailRun', message: 'Index 0 failed and retry rule bad-input decided FailRun' });
    expect(done.status!.tasks!.map((t) => [t.name, t.status.result, t.status.reason])).toEqual([
      ['loader-r1-0-0', 'Failed', 'Error'],
      ['loader-r1-1-0', 'Killed', 'FailRun'],
    ]);
    // No index was retried.
    expect(await podNames('loader-r1')).toEqual(['loader-r1-0-0', 'loader-r1-1-0']);
    const seen = await finishedEvent('loader-r1');
    expect(seen.filter((e) => e.reason === 'Killing').map((e) => e.message)).toEqual([
      'Killing task loader-r1-1-0 (FailRun): Index 0 failed and retry rule bad-input decided FailRun; stopping the remaining tasks',
    ]);
  });

  it('an eviction is retried without using an attempt: maxAttempts 1, evicted twice, then it succeeds', async () => {
    const { config, run, tasks } = synthRun(
      ns.name,
      {
        name: 'evicted',
        maxAttempts: 1,
        maxUncountedRetries: 2,
        retryRules: [RetryRule.onEviction().retryNotCounted()],
        task: TaskTemplate.pod({ spec: podTask() }),
      },
      (c) => c.run('r1', {}),
    );
    await applyAsGitOps([config, run, ...tasks]);
    await evict('evicted-r1-0-0');
    await pod('evicted-r1-0-1');
    await evict('evicted-r1-0-1');
    await pod('evicted-r1-0-2');
    await finishPod(ns.name, 'evicted-r1-0-2', 'Succeeded');

    const done = await waitForRun(client, ns.name, 'evicted-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks!.map((t) => [t.name, t.status.result, t.status.reason, t.retryRule])).toEqual([
      ['evicted-r1-0-0', 'Killed', 'Evicted', { rule: 'eviction', action: 'RetryNotCounted' }],
      ['evicted-r1-0-1', 'Killed', 'Evicted', { rule: 'eviction', action: 'RetryNotCounted' }],
      ['evicted-r1-0-2', 'Succeeded', undefined, undefined],
    ]);
    expect(done.status!.indexes).toEqual([{ index: { indexNumber: 0 }, key: '0', createdTasks: 3, state: 'Terminated', result: 'Succeeded' }]);
    const seen = await finishedEvent('evicted-r1');
    expect(seen.filter((e) => e.reason === 'TaskCreated').map((e) => e.message)).toEqual([
      'Created task evicted-r1-0-1 (index 0, attempt 2, past maxAttempts 1 by uncounted retries)',
      'Created task evicted-r1-0-2 (index 0, attempt 3, past maxAttempts 1 by uncounted retries)',
    ]);
  });
});

/**
 * The GitOps health checks on live objects: runs driven into every phase the watcher reaches (tasks
 * finished the way a kubelet writes pod status), read back from the API server, then judged by the
 * Argo CD's own health code (argocd-vm.ts: the construct's argocd-cm, util/lua) and by the Flux
 * healthCheckExprs in a CEL evaluator.
 *
 * TASKPLANE_WRITE_HEALTH_FIXTURES=1 also records the objects into test/fixtures/jobruns/, which the
 * fast unit tests (test/engine/health-*.test.ts) read.
 */
import { writeFileSync } from 'node:fs';
import { Duration } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompletionStrategy, Concurrency, Materialization, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { JOB_RUN_HEALTH_CHECK_EXPR } from '../../engine/health/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { argoCdHealth, constructArgoCdConfigMap, requireArgoCdVm } from '../engine/argocd-vm.js';
import { fluxHealth, kstatusHealth } from '../engine/health-eval.js';
import { fixturePath, JOB_CONFIG_CASES, JOB_RUN_CASES, type HealthCase } from '../fixtures/jobruns/cases.js';
import { applyAsGitOps, ARGOCD, getRun, markPodRunning, podTask, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const client = testClient();
/** What a user installs: the construct's argocd-cm. */
const ARGOCD_CM = constructArgoCdConfigMap();
const WRITE = process.env.TASKPLANE_WRITE_HEALTH_FIXTURES === '1';
let watcher: Watcher;
let ns: TestNamespace;
/** No watcher here, except briefly (the stale-generation case). */
let idle: TestNamespace;
/** Every live object judged, by case name. */
const live = new Map<string, KubeObject>();

beforeAll(async () => {
  requireArgoCdVm();
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  [ns, idle] = await Promise.all([createNamespace('tp-health'), createNamespace('tp-health-idle')]);
  watcher = await startWatcher({ namespace: ns.name });
});

afterAll(async () => {
  await watcher?.stop();
  await Promise.all([ns?.delete(), idle?.delete()]);
});

const phaseIs = (phase: string) => (run: JobRunObject) => run.status?.phase === phase;
const pod = (namespace: string, name: string) => waitUntil(`pod ${name}`, () => client.get('v1', 'Pod', namespace, name));

/** What a kubelet does once a Pod's lowered activeDeadlineSeconds passed. */
async function enforceDeadline(name: string): Promise<void> {
  const p = await waitUntil(`activeDeadlineSeconds on ${name}`, async () => {
    const got = await client.get<KubeObject & { spec: { activeDeadlineSeconds?: number } }>('v1', 'Pod', ns.name, name);
    return got.spec.activeDeadlineSeconds ? got : undefined;
  });
  await client.mergePatch(p, { status: { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' } }, 'status');
}

/** Judges one live object as Argo CD and Flux would, and records it. */
async function judge(kase: HealthCase, object: KubeObject, kind: 'JobRun' | 'JobConfig' = 'JobRun'): Promise<void> {
  live.set(kase.name, object);
  const obj = object as unknown as Record<string, any>;
  expect(obj.status?.phase, kase.name).toBe(kase.phase);
  const argo = await argoCdHealth(ARGOCD_CM, obj);
  expect(argo.status, `${kase.name}: Argo CD health (${argo.message})`).toBe(kase.argo);
  if (kind === 'JobRun') expect(argo.message, kase.name).not.toBe('');
  const flux = kind === 'JobRun' ? fluxHealth(JOB_RUN_HEALTH_CHECK_EXPR, obj) : kstatusHealth(obj);
  expect(flux, `${kase.name}: Flux health`).toBe(kase.flux);
  if (WRITE) writeFileSync(fixturePath(kase.name), `${JSON.stringify(normalize(object), null, 2)}\n`);
}

/** Fixture form: the random namespaces become `batch`, managedFields go. */
function normalize(object: KubeObject): unknown {
  const { managedFields: _, ...metadata } = object.metadata;
  const text = JSON.stringify({ ...object, metadata }).replaceAll(ns.name, 'batch').replaceAll(idle.name, 'batch');
  return JSON.parse(text);
}

const caseOf = (name: string) => [...JOB_RUN_CASES, ...JOB_CONFIG_CASES].find((c) => c.name === name)!;

describe('health of live JobRuns', () => {
  it('before the watcher: no status, then a spec edited after the watcher last wrote status', async () => {
    const fresh = synthRun(idle.name, { name: 'fresh', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([fresh.config, fresh.run, ...fresh.tasks]);
    await judge(caseOf('no-status'), await getRun(client, idle.name, 'fresh-r1'));
    await judge(caseOf('jobconfig-no-status'), await client.get('taskplane.dev/v1alpha1', 'JobConfig', idle.name, 'fresh'), 'JobConfig');

    const edited = synthRun(idle.name, { name: 'edited', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const briefly = await startWatcher({ namespace: idle.name });
    try {
      await applyAsGitOps([edited.config, edited.run, ...edited.tasks]);
      await waitForRun(client, idle.name, 'edited-r1', 'Pending', phaseIs('Pending'));
    } finally {
      await briefly.stop();
    }
    // An edit in Git while no watcher runs: the status still speaks of generation 1.
    const run = await getRun(client, idle.name, 'edited-r1');
    await client.mergePatch(run, { spec: { killTimestamp: '2099-01-01T00:00:00Z' } });
    const stale = await getRun(client, idle.name, 'edited-r1');
    expect([stale.metadata.generation, stale.status?.observedGeneration]).toEqual([2, 1]);
    await judge(caseOf('stale-generation'), stale);
  });

  it('Deferred runs waiting: for startAfter, and for their concurrency turn', async () => {
    const later = synthRun(ns.name, { name: 'later', task: TaskTemplate.pod({ spec: podTask() }) }, (c) =>
      c.run('r1', { materialization: Materialization.DEFERRED, startAfter: new Date(Date.now() + 3_600_000) }),
    );
    await applyAsGitOps([later.config, later.run]);
    await judge(caseOf('queued-not-yet-due'), await waitForRun(client, ns.name, 'later-r1', 'Queued', phaseIs('Queued')));

    const first = synthRun(ns.name, { name: 'serial', concurrency: Concurrency.enqueue(1), task: TaskTemplate.pod({ spec: podTask() }) }, (c) =>
      c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([first.config, first.run]);
    await pod(ns.name, 'serial-r1-0-0');
    const second = synthRun(ns.name, { name: 'serial', concurrency: Concurrency.enqueue(1), task: TaskTemplate.pod({ spec: podTask() }) }, (c) =>
      c.run('r2', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([second.run]);
    await judge(caseOf('queued-concurrency'), await waitForRun(client, ns.name, 'serial-r2', 'Queued', phaseIs('Queued')));
  });

  it('in progress: Pending, Running, RetryBackoff, Retrying, Terminating, Killing', async () => {
    const pending = synthRun(ns.name, { name: 'waiting', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const running = synthRun(ns.name, { name: 'shards', parallelism: Parallelism.withCount(3), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const backoff = synthRun(ns.name, { name: 'patient', maxAttempts: 2, retryDelay: Duration.hours(1), task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const retrying = synthRun(ns.name, { name: 'eager', maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const racing = synthRun(
      ns.name,
      { name: 'racing', parallelism: Parallelism.withCount(2, { completionStrategy: CompletionStrategy.ANY_SUCCESSFUL }), task: TaskTemplate.pod({ spec: podTask() }) },
      (c) => c.run('r1', {}),
    );
    const stopping = synthRun(ns.name, { name: 'stopping', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([pending, running, backoff, retrying, racing, stopping].flatMap((r) => [r.config, r.run, ...r.tasks]));

    await judge(caseOf('pending'), await waitForRun(client, ns.name, 'waiting-r1', 'Pending', phaseIs('Pending')));

    await finishPod(ns.name, 'shards-r1-0-0', 'Succeeded');
    for (const name of ['shards-r1-1-0', 'shards-r1-2-0']) await markPodRunning(client, ns.name, name);
    await judge(caseOf('running'), await waitForRun(client, ns.name, 'shards-r1', 'Running, 1/3', (r) => r.status?.phase === 'Running' && r.status.progress === '1/3'));

    await finishPod(ns.name, 'patient-r1-0-0', 'Failed');
    await judge(caseOf('retry-backoff'), await waitForRun(client, ns.name, 'patient-r1', 'RetryBackoff', phaseIs('RetryBackoff')));

    await finishPod(ns.name, 'eager-r1-0-0', 'Failed');
    await pod(ns.name, 'eager-r1-0-1');
    await judge(caseOf('retrying'), await waitForRun(client, ns.name, 'eager-r1', 'Retrying', phaseIs('Retrying')));

    await markPodRunning(client, ns.name, 'racing-r1-1-0');
    await finishPod(ns.name, 'racing-r1-0-0', 'Succeeded');
    await judge(caseOf('terminating'), await waitForRun(client, ns.name, 'racing-r1', 'Terminating', phaseIs('Terminating')));

    // A kill (what `taskplane kill` writes) of a running task: stopped in place, so it takes a while.
    await markPodRunning(client, ns.name, 'stopping-r1-0-0');
    const toKill = await waitForRun(client, ns.name, 'stopping-r1', 'Running', phaseIs('Running'));
    await client.mergePatch(toKill, { spec: { killTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } });
    await judge(caseOf('killing'), await waitForRun(client, ns.name, 'stopping-r1', 'Killing', phaseIs('Killing')));
  });

  it('finished: Succeeded (also after a failed first attempt), Failed, Killed, AdmissionError, FinishedUnknown', async () => {
    const ok = synthRun(ns.name, { name: 'ok', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const flaky = synthRun(ns.name, { name: 'flaky', maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const doomed = synthRun(ns.name, { name: 'doomed', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const lost = synthRun(ns.name, { name: 'lost', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    const rejected = synthRun(
      ns.name,
      // A port out of range: a rule the API server checks and synth does not.
      { name: 'rejected', task: TaskTemplate.pod({ spec: { containers: [{ name: 'main', image: 'busybox:1.36', ports: [{ containerPort: 70_000 }] }] } }) },
      (c) => c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([ok, flaky, doomed, lost, rejected].flatMap((r) => [r.config, r.run, ...r.tasks]));

    await finishPod(ns.name, 'ok-r1-0-0', 'Succeeded');
    await judge(caseOf('succeeded'), await waitForRun(client, ns.name, 'ok-r1', 'Succeeded', phaseIs('Succeeded')));

    await finishPod(ns.name, 'flaky-r1-0-0', 'Failed');
    await pod(ns.name, 'flaky-r1-0-1');
    await finishPod(ns.name, 'flaky-r1-0-1', 'Succeeded');
    await judge(caseOf('succeeded-after-retry'), await waitForRun(client, ns.name, 'flaky-r1', 'Succeeded', phaseIs('Succeeded')));

    await finishPod(ns.name, 'doomed-r1-0-0', 'Failed');
    await judge(caseOf('failed'), await waitForRun(client, ns.name, 'doomed-r1', 'Failed', phaseIs('Failed')));

    // The Killing run of the previous test, its task now stopped by the "kubelet".
    await enforceDeadline('stopping-r1-0-0');
    await judge(caseOf('killed'), await waitForRun(client, ns.name, 'stopping-r1', 'Killed', phaseIs('Killed')));

    await judge(caseOf('admission-error'), await waitForRun(client, ns.name, 'rejected-r1', 'AdmissionError', phaseIs('AdmissionError')));

    await markPodRunning(client, ns.name, 'lost-r1-0-0');
    await waitForRun(client, ns.name, 'lost-r1', 'Running', phaseIs('Running'));
    await client.delete(await client.get('v1', 'Pod', ns.name, 'lost-r1-0-0'));
    await judge(caseOf('finished-unknown'), await waitForRun(client, ns.name, 'lost-r1', 'FinishedUnknown', phaseIs('FinishedUnknown')));
  });

  it('covered every case and 12 of the 13 phases (Starting lasts only until the first task is created)', () => {
    expect([...live.keys()].sort()).toEqual([...JOB_RUN_CASES, ...JOB_CONFIG_CASES].map((c) => c.name).sort());
    const phases = new Set([...live.values()].map((o) => (o as { status?: { phase?: string } }).status?.phase).filter(Boolean));
    expect(phases.size).toBe(12);
    expect(phases.has('Starting')).toBe(false);
  });
});

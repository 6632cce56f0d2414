/**
 * The watcher under the failures of a real deployment: a kill -9 between a create and the status
 * write, an API server restart mid-run, watch cuts and 410 Gone, two replicas with a Lease and a
 * partitioned leader, and the probe/metrics endpoints of `taskplane watch`.
 *
 * This file starts its own control plane (etcd + kube-apiserver, no controller manager: the tests
 * play the kubelet) because it restarts the API server; the shared one stays untouched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Duration } from 'cdk8s';
import { Materialization, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeClient, KubeObject } from '../../watcher/kube/client.js';
import { Reflector } from '../../watcher/kube/reflector.js';
import { createMetrics } from '../../watcher/metrics.js';
import { apply, applyCrds, clients, createNamespace, finishPod, kubeConfig, waitUntil, type Clients } from '../cluster/client.js';
import { startControlPlane, type ControlPlane } from '../cluster/harness.js';
import {
  ARGOCD,
  events,
  getRun,
  listTasks,
  markPodRunning,
  metricValue,
  podTask,
  registryValue,
  spawnWatcher,
  startProxy,
  startWatcher,
  synthRun,
  testClient,
  waitForRun,
  type StallableProxy,
  type WatcherProcess,
} from './helpers.js';
import { httpGet } from '../cluster/http.js';
import { MAX_BATCH } from '../../watcher/slow-start.js';

let cp: ControlPlane;
let kc: KubeConfig;
let c: Clients;
let client: KubeClient;
let failed = false;
// Everything a test starts, stopped after it whatever happened (child processes by their PID).
let cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  cp = await startControlPlane({ tether: true });
  kc = kubeConfig(cp.kubeconfigPath);
  c = clients(kc);
  client = testClient(kc);
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true, c });
});

afterAll(async () => {
  await cp?.stop({ keepLogs: failed });
  if (failed && cp) console.log(`resilience: control plane logs kept in ${path.join(cp.dir, 'logs')}`);
});

beforeEach(({ onTestFailed }) => onTestFailed(() => void (failed = true)));

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

const namespace = async (prefix: string) => (await createNamespace(prefix, { c, waitForServiceAccount: false })).name;
const applyAsGitOps = (docs: KubeObject[]) => apply(docs as never, { fieldManager: ARGOCD, force: true, c });
const podNames = async (ns: string, run: string) => (await listTasks(client, ns, 'v1', 'Pod', run)).map((p) => p.metadata.name);
const apiPort = () => Number(new URL(cp.server).port);

async function watcherProcess(opts: Parameters<typeof spawnWatcher>[0]): Promise<WatcherProcess> {
  const child = await spawnWatcher(opts);
  cleanups.push(() => child.kill());
  return child;
}

async function proxy(): Promise<StallableProxy> {
  const p = await startProxy(apiPort());
  cleanups.push(() => p.close());
  return p;
}

async function inProcessWatcher(options: Parameters<typeof startWatcher>[0]): Promise<Watcher> {
  const watcher = await startWatcher({ kubeConfig: kc, ...options });
  cleanups.push(() => watcher.stop());
  return watcher;
}

/** Resolves with how the process ended, or fails after `ms`. */
function exitWithin(child: WatcherProcess, ms: number) {
  return Promise.race([
    child.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`watcher ${child.pid} still running after ${ms / 1000}s:\n${child.output().slice(-3000)}`)), ms)),
  ]);
}

describe('a watcher killed with SIGKILL', () => {
  // Two watcher processes start one after the other (tsx compiles the CLI each time): generous on a loaded machine.
  it('between creating a retry and everything after it: the restarted watcher neither repeats nor loses an attempt', { timeout: 180_000 }, async () => {
    const ns = await namespace('tp-crash');
    const { config, run, tasks } = synthRun(ns, { name: 'crashy', maxAttempts: 3, task: TaskTemplate.pod({ spec: podTask() }) }, (j) => j.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);

    // The hook makes the process SIGKILL itself right after its first successful create.
    const first = await watcherProcess({ kubeconfig: cp.kubeconfigPath, namespace: ns, env: { TASKPLANE_TEST_CRASH_AFTER_CREATE: '1' } });
    await waitForRun(client, ns, 'crashy-r1', 'first attempt recorded', (r) => r.status?.tasks?.length === 1);
    await finishPod(ns, 'crashy-r1-0-0', 'Failed', { c });
    expect(await exitWithin(first, 30_000)).toEqual({ code: null, signal: 'SIGKILL' });

    // The window: attempt 1 exists; the status (written before the create) has only its request.
    const attempt1 = await client.get('v1', 'Pod', ns, 'crashy-r1-0-1');
    expect(attempt1.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'JobRun', name: 'crashy-r1' })]);
    const crashed = await getRun(client, ns, 'crashy-r1');
    expect(crashed.status!.tasks!.map((t) => [t.name, t.status.reason === 'CreateRequested'])).toEqual([
      ['crashy-r1-0-0', false],
      ['crashy-r1-0-1', true],
    ]);
    expect((await events(client, ns, 'crashy-r1')).map((e) => e.reason)).not.toContain('TaskCreated');

    const second = await watcherProcess({ kubeconfig: cp.kubeconfigPath, namespace: ns });
    const recorded = await waitForRun(client, ns, 'crashy-r1', 'attempt 1 observed', (r) => r.status?.tasks?.length === 2 && r.status.tasks[1]!.status.reason !== 'CreateRequested', 90_000).catch(
      (error: Error) => Promise.reject(new Error(`${error.message}
restarted watcher's log:
${second.output().slice(-4000)}`)),
    );
    expect(recorded.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['crashy-r1-0-0', 0, 'Failed'],
      ['crashy-r1-0-1', 1, undefined],
    ]);
    // It adopted the attempt from its cache: not one create request for a Pod.
    const metrics = (await httpGet(`${second.url}/metrics`)).body;
    expect(metricValue(metrics, 'taskplane_api_requests_total', { verb: 'POST', resource: 'pods' })).toBe(0);
    expect(await podNames(ns, 'crashy-r1')).toEqual(['crashy-r1-0-0', 'crashy-r1-0-1']);

    await finishPod(ns, 'crashy-r1-0-1', 'Failed', { c });
    await waitUntil('attempt 2', () => client.get('v1', 'Pod', ns, 'crashy-r1-0-2'));
    await finishPod(ns, 'crashy-r1-0-2', 'Succeeded', { c });
    const done = await waitForRun(client, ns, 'crashy-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['crashy-r1-0-0', 0, 'Failed'],
      ['crashy-r1-0-1', 1, 'Failed'],
      ['crashy-r1-0-2', 2, 'Succeeded'],
    ]);
    // Each deterministic name exactly once, and attempt 1 is still the object created before the crash.
    expect(await podNames(ns, 'crashy-r1')).toEqual(['crashy-r1-0-0', 'crashy-r1-0-1', 'crashy-r1-0-2']);
    expect((await client.get('v1', 'Pod', ns, 'crashy-r1-0-1')).metadata.uid).toBe(attempt1.metadata.uid);
  });
});

describe('the API server restarts mid-run', () => {
  it('watches reconnect and the run finishes on pod transitions made after the restart', async () => {
    const ns = await namespace('tp-restart');
    const metrics = createMetrics();
    const watcher = await inProcessWatcher({ namespace: ns, metrics });
    const { config, run, tasks } = synthRun(ns, { name: 'steady', maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (j) => j.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await markPodRunning(client, ns, 'steady-r1-0-0');
    await waitForRun(client, ns, 'steady-r1', 'Running', (r) => r.status?.phase === 'Running');
    const listsBefore = await registryValue(metrics, 'taskplane_api_requests_total', { verb: 'GET', resource: 'pods', code: '200' });

    await cp.restartApiServer();

    // Only a watch that came back can see these.
    await finishPod(ns, 'steady-r1-0-0', 'Failed', { c });
    await waitUntil('attempt 1 after the restart', () => client.get('v1', 'Pod', ns, 'steady-r1-0-1'), 45_000);
    await finishPod(ns, 'steady-r1-0-1', 'Succeeded', { c });
    const done = await waitForRun(client, ns, 'steady-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks!.map((t) => [t.name, t.status.result])).toEqual([
      ['steady-r1-0-0', 'Failed'],
      ['steady-r1-0-1', 'Succeeded'],
    ]);
    // The pod cache was listed again from the new server (410 or a broken watch, both end in a list).
    expect(await registryValue(metrics, 'taskplane_api_requests_total', { verb: 'GET', resource: 'pods', code: '200' })).toBeGreaterThan(listsBefore);
    await waitUntil('ready', async () => watcher.ready(), 10_000).catch(() => expect(watcher.readiness()).toEqual([]));
  });
});

describe('an API server outage', () => {
  /** Long enough for the per-run backoff (100 ms doubling) and the reflectors' (0.5 s doubling, 30 s cap) to pass 20 s. */
  const OUTAGE_MS = 35_000;
  /** The goal: every retry that fell due during the outage created within 5 s of the API server answering again. */
  const RECOVERY_GOAL_MS = 5_000;

  it(`a retry that falls due during a ${OUTAGE_MS / 1000} s outage is created within ${RECOVERY_GOAL_MS / 1000} s of the API server answering again; /readyz says unreachable meanwhile`, { timeout: 120_000 }, async () => {
    const ns = await namespace('tp-outage');
    const p = await proxy();
    const watcher = await inProcessWatcher({ kubeConfig: p.kubeConfig(kc), namespace: ns });
    const { config, run, tasks } = synthRun(ns, { name: 'outage', maxAttempts: 2, retryDelay: Duration.seconds(3), task: TaskTemplate.pod({ spec: podTask() }) }, (j) => j.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await finishPod(ns, 'outage-r1-0-0', 'Failed', { c });
    await waitForRun(client, ns, 'outage-r1', 'retry scheduled', (r) => r.status?.phase === 'RetryBackoff');

    p.refuse();
    await waitUntil('/readyz reports the outage', async () => watcher.readiness().includes('API server unreachable'), 10_000);
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    expect(await podNames(ns, 'outage-r1')).toEqual(['outage-r1-0-0']);
    p.heal();
    const back = Date.now();
    await waitUntil('the retry', () => client.get('v1', 'Pod', ns, 'outage-r1-0-1').catch(() => undefined), 60_000);
    const recoveryMs = Date.now() - back;
    console.log(`outage: retry created ${recoveryMs} ms after the API server answered again (goal ${RECOVERY_GOAL_MS} ms)`);
    expect(recoveryMs).toBeLessThan(RECOVERY_GOAL_MS);
    await waitUntil('/readyz ok again', async () => watcher.readiness().length === 0, 10_000);
    expect(await podNames(ns, 'outage-r1')).toEqual(['outage-r1-0-0', 'outage-r1-0-1']);
  });
});

describe('watch cuts and 410 Gone (Reflector against the API server)', () => {
  type Cm = KubeObject & { data?: Record<string, string> };
  const cm = (ns: string, name: string, value = '1'): Cm => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { value } });

  /** A reflector of ConfigMaps in `ns` through `via`, with a record of what it emitted. */
  async function reflect(ns: string, via: KubeConfig, options: { watchTimeoutSeconds?: number; staleAfterMs?: number }) {
    const reflector = new Reflector<Cm>(testClient(via), { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, ...options });
    const seen = { add: [] as string[], update: [] as string[], delete: [] as string[], synced: 0, retries: [] as string[] };
    reflector.on('add', (o) => seen.add.push(o.metadata.name));
    reflector.on('update', (o) => seen.update.push(`${o.metadata.name}=${o.data?.value}`));
    reflector.on('delete', (o) => seen.delete.push(o.metadata.name));
    reflector.on('synced', () => seen.synced++);
    reflector.on('retry', (e) => seen.retries.push(e.message));
    reflector.start();
    cleanups.push(() => reflector.stop());
    await reflector.waitForSync();
    return { reflector, seen };
  }

  /** Waits until the reflector's cache holds exactly what the server lists (names and resourceVersions). */
  async function inSyncWithServer(ns: string, reflector: Reflector<Cm>): Promise<void> {
    const snapshot = (items: Cm[]) => items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort().join(',');
    await waitUntil('cache equal to the server', async () => {
      const server = await client.list<Cm>('v1', 'ConfigMap', {}, ns);
      return snapshot(reflector.list()) === snapshot(server.items);
    }, 20_000);
  }

  it('watches the server ends (timeout) and a stalled watch resume from the last resourceVersion: every event arrives, no re-list', async () => {
    const ns = await namespace('tp-cut');
    const p = await proxy();
    const watches = vi.spyOn(Watch.prototype, 'watch');
    cleanups.push(async () => watches.mockRestore());
    const { reflector, seen } = await reflect(ns, p.kubeConfig(kc), { watchTimeoutSeconds: 1, staleAfterMs: 1500 });
    const names = ['a', 'b', 'c', 'd'];
    // Spread over several 1 s watches.
    for (const name of names) {
      await client.create(cm(ns, name));
      await new Promise((r) => setTimeout(r, 700));
    }
    await inSyncWithServer(ns, reflector);
    expect(watches.mock.calls.length).toBeGreaterThanOrEqual(3);

    // A silent connection: the staleness timer gives up on it and a new watch waits unanswered.
    p.stall();
    const callsAtStall = watches.mock.calls.length;
    await client.delete(cm(ns, 'a'));
    await client.mergePatch(cm(ns, 'b'), { data: { value: '2' } });
    await client.create(cm(ns, 'e'));
    // Twice: the second watch never got its response headers, and is given up on all the same.
    await waitUntil('two stalled watches abandoned', async () => watches.mock.calls.length >= callsAtStall + 2, 10_000);
    p.heal();

    await inSyncWithServer(ns, reflector);
    // One list only: every watch, including the one after the stall, continued where the last one ended.
    expect(seen).toEqual({ add: [...names, 'e'], update: ['b=2'], delete: ['a'], synced: 1, retries: [] });
  });

  it('410 Gone: resuming from a resourceVersion the restarted API server no longer has re-lists; the cache equals the server and deletions are emitted', async () => {
    const ns = await namespace('tp-gone');
    const p = await proxy();
    const { reflector, seen } = await reflect(ns, p.kubeConfig(kc), { staleAfterMs: 1500 });
    for (const name of ['a', 'b', 'c']) await client.create(cm(ns, name));
    await inSyncWithServer(ns, reflector);
    const watches = vi.spyOn(Watch.prototype, 'watch');
    cleanups.push(async () => watches.mockRestore());

    p.stall();
    await client.delete(cm(ns, 'a'));
    await client.mergePatch(cm(ns, 'b'), { data: { value: '2' } });
    await client.create(cm(ns, 'd'));
    await waitUntil('the stalled watch abandoned', async () => watches.mock.calls.length > 0, 10_000);
    // A new API server has a fresh watch cache: the old resourceVersion is "too old" for it.
    await cp.restartApiServer();
    p.heal();

    await waitUntil('a second list', async () => seen.synced === 2, 20_000);
    await inSyncWithServer(ns, reflector);
    expect(seen).toEqual({ add: ['a', 'b', 'c', 'd'], update: ['b=2'], delete: ['a'], synced: 2, retries: [] });
    expect(reflector.list().map((o) => o.metadata.name).sort()).toEqual(['b', 'c', 'd']);
  });
});

/** Replica a (the leader, through a proxy the test can cut) and replica b, with short Lease timings. */
async function twoReplicas(prefix: string) {
  const ns = await namespace(prefix);
  const p = await proxy();
  const election = (identity: string) => ({ namespace: ns, name: 'taskplane-watcher', identity, leaseDurationSeconds: 3, retryPeriodMs: 500, renewDeadlineMs: 2000 });
  const [ma, mb] = [createMetrics(), createMetrics()];
  const a = await inProcessWatcher({ kubeConfig: p.kubeConfig(kc), namespace: ns, metrics: ma, leaderElection: election('a') });
  // Runs before a.stop(), so a failure while a is cut off cannot leave stop() waiting on dead requests.
  cleanups.push(async () => p.heal());
  await waitUntil('a leads', async () => a.isLeader, 10_000);
  const b = await inProcessWatcher({ namespace: ns, metrics: mb, leaderElection: election('b') });
  return { ns, p, a, b, ma, mb };
}

describe('two replicas with leader election', () => {
  it('only the leader acts; a partitioned leader steps down, the other takes over and finishes the run; a stopped leader hands over at once', async () => {
    const { ns, p, a, b, ma, mb } = await twoReplicas('tp-lease');

    const { config, run, tasks } = synthRun(ns, { name: 'duo', maxAttempts: 3, task: TaskTemplate.pod({ spec: podTask() }) }, (j) => j.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await finishPod(ns, 'duo-r1-0-0', 'Failed', { c });
    await waitForRun(client, ns, 'duo-r1', 'attempt 1 recorded', (r) => r.status?.tasks?.length === 2);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(await registryValue(ma, 'taskplane_reconciles_total')).toBeGreaterThan(0);
    expect(await registryValue(ma, 'taskplane_tasks_created_total', { retry: 'true' })).toBe(1);
    expect(await registryValue(mb, 'taskplane_reconciles_total')).toBe(0);
    expect(await registryValue(mb, 'taskplane_leader')).toBe(0);

    // a can reach nothing now, not even to learn it lost the lease: it steps down at its renew deadline.
    p.stall();
    await waitUntil('b takes over', async () => b.isLeader, 15_000);
    expect(a.isLeader).toBe(false);
    await finishPod(ns, 'duo-r1-0-1', 'Failed', { c });
    await waitUntil('attempt 2', () => client.get('v1', 'Pod', ns, 'duo-r1-0-2'), 20_000);
    await finishPod(ns, 'duo-r1-0-2', 'Succeeded', { c });
    const done = await waitForRun(client, ns, 'duo-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['duo-r1-0-0', 0, 'Failed'],
      ['duo-r1-0-1', 1, 'Failed'],
      ['duo-r1-0-2', 2, 'Succeeded'],
    ]);
    expect(await registryValue(mb, 'taskplane_tasks_created_total', { retry: 'true' })).toBe(1);
    expect(await registryValue(ma, 'taskplane_tasks_created_total', { retry: 'true' })).toBe(1);
    expect(await podNames(ns, 'duo-r1')).toEqual(['duo-r1-0-0', 'duo-r1-0-1', 'duo-r1-0-2']);

    // Back on the network, a finds the lease held and stays a follower.
    p.heal();
    await new Promise((r) => setTimeout(r, 2000));
    expect([a.isLeader, b.isLeader]).toEqual([false, true]);
    const lease = await client.get<KubeObject & { spec: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string } }>('coordination.k8s.io/v1', 'Lease', ns, 'taskplane-watcher');
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });

    // stop() releases the lease: a takes it before b's last renewal would have expired.
    await b.stop();
    await waitUntil('a leads again', async () => a.isLeader, 10_000);
    const handedOver = await client.get<KubeObject & { spec: { holderIdentity?: string; acquireTime?: string } }>('coordination.k8s.io/v1', 'Lease', ns, 'taskplane-watcher');
    expect(handedOver.spec.holderIdentity).toBe('a');
    expect(Date.parse(handedOver.spec.acquireTime!)).toBeLessThan(Date.parse(lease.spec.renewTime!) + 3000);
  });
});

describe('a leader partitioned in the middle of a reconcile', () => {
  const INDEXES = 100;

  it(`stops its in-flight work when its Lease is lost: after the partition not one more write lands, even when the delayed packets arrive; the new leader creates the rest, each of ${INDEXES} first attempts exactly once`, async () => {
    const { ns, p, a, b, ma, mb } = await twoReplicas('tp-inflight');

    // A Deferred run: a records 100 create requests, then creates the Pods in slow-start batches (1, 2, 4, …).
    const { config, run } = synthRun(ns, { name: 'wide', parallelism: Parallelism.withCount(INDEXES), task: TaskTemplate.pod({ spec: podTask() }) }, (j) =>
      j.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
    await waitUntil('a is creating', async () => (await podNames(ns, 'wide-r1')).length > 0, 20_000);
    p.stall();
    // Writes that reached the API server (any answer) for tasks, the run's status and its events; the Lease is the elector's.
    const writes = async (m: typeof ma) => {
      let total = 0;
      for (const verb of ['POST', 'PATCH', 'PUT', 'DELETE']) {
        for (const resource of ['pods', 'jobruns', 'events']) {
          const sent = await registryValue(m, 'taskplane_api_requests_total', { verb, resource });
          total += sent - (await registryValue(m, 'taskplane_api_requests_total', { verb, resource, code: '0' }));
        }
      }
      return total;
    };
    await waitUntil('a steps down', async () => !a.isLeader, 10_000);
    const writesAtLoss = await writes(ma);
    const createdByA = await registryValue(ma, 'taskplane_tasks_created_total');
    expect(createdByA).toBeLessThan(INDEXES);

    await waitUntil('b takes over', async () => b.isLeader, 15_000);
    // The partition ends with what a had sent still in flight delivered (delayed, not lost).
    p.resume();
    const done = await waitForRun(client, ns, 'wide-r1', 'every first attempt observed', (r) => r.status?.tasks?.length === INDEXES && r.status.tasks.every((t) => t.status.reason !== 'CreateRequested'), 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await writes(ma)).toBe(writesAtLoss);
    expect(await registryValue(ma, 'taskplane_tasks_created_total')).toBe(createdByA);
    // The creates in flight when the partition began (one slow-start batch at most) may have reached the API
    // server before it: b then finds them there, and counts them as found, not created.
    const foundByB = INDEXES - createdByA - (await registryValue(mb, 'taskplane_tasks_created_total'));
    expect(foundByB).toBeGreaterThanOrEqual(0);
    expect(foundByB).toBeLessThanOrEqual(MAX_BATCH);
    const names = await podNames(ns, 'wide-r1');
    expect(names).toEqual(Array.from({ length: INDEXES }, (_, i) => `wide-r1-${i}-0`).sort());
    expect(done.status!.tasks!.map((t) => t.retryIndex)).toEqual(Array(INDEXES).fill(0));
  });
});

describe('taskplane watch endpoints', () => {
  it('--workers two (and other bad flags) exit 2 before anything starts, naming each bad value and what is valid', async () => {
    const child = await watcherProcess({ kubeconfig: cp.kubeconfigPath, namespace: 'unused', args: ['--workers', 'two', '--log-level', 'loud'] });
    expect(await exitWithin(child, 30_000)).toEqual({ code: 2, signal: null });
    expect(child.output()).toContain('--workers: got "two"; valid: a whole number of at least 1');
    expect(child.output()).toContain('--log-level: got "loud"');
  });

  it('/healthz answers at once, /readyz only once the caches are synced, /metrics carries the watcher series', async () => {
    const ns = await namespace('tp-probe');
    const p = await proxy();
    const dir = mkdtempSync(path.join(tmpdir(), 'taskplane-probe-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, p.kubeConfig(kc).exportConfig());
    // Until healed, the API server does not answer this watcher: its first lists hang.
    p.stall();
    const child = await watcherProcess({ kubeconfig, namespace: ns });

    await waitUntil('/healthz', () => httpGet(`${child.url}/healthz`).then((r) => r.status === 200), 30_000);
    expect(await httpGet(`${child.url}/readyz`)).toEqual({ status: 503, body: 'caches not synced\n' });
    p.heal();
    await waitUntil('/readyz', () => httpGet(`${child.url}/readyz`).then((r) => r.status === 200), 20_000);

    const { config, run, tasks } = synthRun(ns, { name: 'probe', task: TaskTemplate.pod({ spec: podTask() }) }, (j) => j.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    await finishPod(ns, 'probe-r1-0-0', 'Succeeded', { c });
    await waitForRun(client, ns, 'probe-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');

    const metrics = await httpGet(`${child.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('# TYPE taskplane_reconciles_total counter');
    expect(metrics.body).toContain('# TYPE taskplane_api_requests_total counter');
    expect(metricValue(metrics.body, 'taskplane_reconciles_total', { outcome: 'success' })).toBeGreaterThan(0);
    expect(metricValue(metrics.body, 'taskplane_api_requests_total', { verb: 'GET', resource: 'jobruns', code: '200' })).toBeGreaterThan(0);
    expect(metricValue(metrics.body, 'taskplane_api_requests_total', { verb: 'PATCH', resource: 'jobruns', code: '200' })).toBeGreaterThan(0);
    expect(metricValue(metrics.body, 'taskplane_leader')).toBe(1);
  });
});

/**
 * Task caching against the real control plane: a Deferred run whose task already succeeded in an
 * earlier run of the same JobConfig creates nothing and copies the result; a version bump, maxAge (on
 * the watcher's clock), `taskplane run --no-cache` and another JobConfig miss; entries stay within
 * maxEntries, and Kubernetes' garbage collector removes them with their JobConfig.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Duration } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Materialization, Option, Parallelism, Schedule, TaskTemplate, type JobConfigProps } from '../../constructs/index.js';
import { cacheEntryObject, taskCacheKey } from '../../engine/cache/index.js';
import { jobConfigCrd, jobRunCrd, taskCacheEntryCrd } from '../../engine/schema/crd.js';
import type { TaskCacheEntryObject } from '../../engine/schema/cache-entry.js';
import { ManualClock } from '../../watcher/clock.js';
import type { Watcher } from '../../watcher/controller.js';
import { isNotFound, type ApiError, type KubeObject } from '../../watcher/kube/client.js';
import { createMetrics } from '../../watcher/metrics.js';
import { applyCrds, clusterInfo, createNamespace, waitUntil, type TestNamespace } from '../cluster/client.js';
import { freePort } from '../cluster/harness.js';
import { finishedStatus } from '../cluster/kubelet.js';
import { applyAsGitOps, ARGOCD, events, listTasks, podTask, registryValue, startWatcher, synthRun, testClient, waitForRun } from './helpers.js';

const client = testClient();
const HOUR = 3_600_000;
const metrics = createMetrics();
// Relative to the real time (task objects carry real timestamps), then moved only by the test.
const clock = new ManualClock(new Date());
let watcher: Watcher;
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd(), taskCacheEntryCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-cache');
  watcher = await startWatcher({ namespace: ns.name, clock, metrics });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

type Entry = TaskCacheEntryObject & KubeObject;
const entries = async (config: string): Promise<Entry[]> =>
  (await client.list<Entry>('taskplane.dev/v1alpha1', 'TaskCacheEntry', { labelSelector: `taskplane.dev/config=${config}` }, ns.name)).items;
const waitForEntries = (config: string, what: string, check: (list: Entry[]) => boolean, timeoutMs?: number) =>
  waitUntil(`${config} cache entries: ${what}`, async () => {
    const list = await entries(config);
    return check(list) ? list : undefined;
  }, timeoutMs);
const cacheMetric = (result: string) => registryValue(metrics, 'taskplane_cache_lookups_total', { result });

const reportProps = (version: string): JobConfigProps<{ day: ReturnType<typeof Option.string> }> => ({
  name: 'report',
  options: { day: Option.string({ default: '2026-11-21' }) },
  // The run's own name in the task must not defeat the cache: it names the run, not the work.
  task: TaskTemplate.pod({ spec: podTask(['report --day=${option.day} --out=/results/${job.name}/${task.name}']) }),
  cache: { version, maxAge: Duration.hours(1) },
  // The test moves the watcher's clock hours ahead of the Pods' real creation times.
  pendingTimeout: Duration.seconds(0),
});

/** A Deferred run of `report`, applied as GitOps applies it. */
async function startReport(id: string, day: string, version = '1'): Promise<string> {
  const { config, run } = synthRun(ns.name, reportProps(version), (c) => c.run(id, { materialization: Materialization.DEFERRED, options: { day } }));
  await applyAsGitOps([config, run]);
  return run.metadata.name;
}

/**
 * What finishPod does, at the watcher clock's time: an entry's age is its task's finish time (the
 * object's own) against the watcher's now, which the test moves hours ahead of the real time.
 */
async function succeed(name: string, result: object): Promise<void> {
  const pod = await client.get<KubeObject & { spec: { containers: { name: string; image: string }[] } }>('v1', 'Pod', ns.name, name);
  const status = finishedStatus(pod, 'Succeeded', 0, clock.now());
  for (const container of status.containerStatuses as { state: { terminated?: object } }[]) container.state.terminated = { ...container.state.terminated, message: JSON.stringify(result) };
  await client.mergePatch(pod, { status }, 'status');
}

/** The run creates its one task; it succeeds with `result`; returns the run. */
async function runToSuccess(name: string, result: object) {
  const [pod] = await waitUntil(`the task of ${name}`, async () => {
    const pods = await listTasks(client, ns.name, 'v1', 'Pod', name);
    return pods.length === 1 ? pods : undefined;
  });
  await succeed(pod!.metadata.name, result);
  return waitForRun(client, ns.name, name, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
}

describe('task caching', () => {
  it('a second Deferred run with the same inputs creates nothing and copies the result; other inputs run', async () => {
    const first = await startReport('first', '2026-11-21');
    await runToSuccess(first, { rows: 42 });
    const [entry] = await waitForEntries('report', 'one', (list) => list.length === 1);
    const config = await client.get('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'report');
    expect(entry!.metadata.ownerReferences).toEqual([{ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', name: 'report', uid: config.metadata.uid }]);
    expect(entry!.spec).toMatchObject({ configName: 'report', version: '1', run: first, task: `${first}-0-0`, result: { rows: 42 } });
    const [hitsBefore, missesBefore] = [await cacheMetric('hit'), await cacheMetric('miss')];

    const second = await startReport('second', '2026-11-21');
    const done = await waitForRun(client, ns.name, second, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(await listTasks(client, ns.name, 'v1', 'Pod', second)).toEqual([]);
    expect(done.status!.tasks).toEqual([
      expect.objectContaining({
        name: `${second}-0-0`,
        status: { state: 'Terminated', result: 'Succeeded', reason: 'Cached', message: expect.stringContaining(`Result of ${first}-0-0 (run ${first}`) },
        taskResult: { rows: 42 },
      }),
    ]);
    expect(done.status).toMatchObject({ result: 'Success', progress: '1/1' });
    await waitUntil('the TaskCached event', async () => (await events(client, ns.name, second)).find((e) => e.reason === 'TaskCached'));
    expect(await cacheMetric('hit')).toBe(hitsBefore + 1);

    const otherDay = await startReport('other-day', '2026-11-22');
    await runToSuccess(otherDay, { rows: 7 });
    expect(await cacheMetric('miss')).toBe(missesBefore + 1);
    await waitForEntries('report', 'one per day', (list) => list.length === 2);
  });

  it('taskplane run --no-cache runs the task, and its success replaces the entry', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/taskplane.mjs', 'run', 'report', '-n', ns.name, '--name', 'report-forced', '--option', 'day=2026-11-21', '--no-cache', '--kubeconfig', clusterInfo().kubeconfigPath],
      { env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(stdout).toContain('report-forced created');
    await runToSuccess('report-forced', { rows: 43 });
    await waitForEntries('report', 'the day 2026-11-21 answered by report-forced', (list) => list.some((e) => e.spec.run === 'report-forced'));
    expect((await entries('report')).map((e) => e.spec.result).sort((a, b) => Number(a!.rows) - Number(b!.rows))).toEqual([{ rows: 7 }, { rows: 43 }]);
  });

  it('a version bump misses; so does another JobConfig with the same task, and an entry the config does not own', async () => {
    const bumped = await startReport('bumped', '2026-11-21', '2');
    await runToSuccess(bumped, { rows: 44 });
    await waitForEntries('report', 'v1 and v2 side by side', (list) => list.filter((e) => e.spec.version === '2').length === 1);

    // Same template and version under another name: its runs never read report's entries...
    const { config, run } = synthRun(ns.name, { ...reportProps('2'), name: 'copycat' }, (c) => c.run('r', { materialization: Materialization.DEFERRED, options: { day: '2026-11-21' } }));
    // ...nor an entry with its own label and key that its JobConfig does not own (made by someone else than the watcher).
    const [reportEntry] = (await entries('report')).filter((e) => e.spec.version === '2');
    const key = taskCacheKey(run, { indexNumber: 0 }).key!.key;
    expect(key).not.toBe(reportEntry!.spec.key);
    await applyAsGitOps([config]);
    const planted = {
      apiVersion: 'taskplane.dev/v1alpha1',
      kind: 'TaskCacheEntry',
      metadata: { name: 'copycat-planted', namespace: ns.name, labels: { 'taskplane.dev/config': 'copycat' } },
      spec: { ...reportEntry!.spec, configName: 'copycat', key, result: { rows: -1 } },
    };
    await client.create(planted);
    await applyAsGitOps([run]);
    const done = await runToSuccess(run.metadata.name, { rows: 45 });
    expect(done.status!.tasks![0]!.taskResult).toEqual({ rows: 45 });
    const copycat = await waitForEntries('copycat', 'its own entry besides the planted one', (list) => list.length === 2);
    expect(copycat.find((e) => e.metadata.name !== 'copycat-planted')!.spec).toMatchObject({ key, result: { rows: 45 } });
  });

  it("a scheduled run repeats the previous hour's task: the second answers from the cache", async () => {
    const { config } = synthRun(
      ns.name,
      { name: 'hourly', schedule: Schedule.cron('0 * * * *'), pendingTimeout: Duration.seconds(0), task: TaskTemplate.pod({ spec: podTask(['sync --since=${option.since}']) }), options: { since: Option.string({ default: 'yesterday' }) }, cache: { version: '1', maxAge: Duration.hours(2) } },
      // synthRun needs a run; only the JobConfig is applied: the scheduler makes the runs.
      (c) => c.run('unused', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config]);
    // The scheduler has seen the config once its status names the next time.
    const seen = await waitUntil('the next schedule time', async () => (await client.get<KubeObject & { status?: { nextScheduled?: string } }>('taskplane.dev/v1alpha1', 'JobConfig', ns.name, 'hourly')).status?.nextScheduled);
    const first = Date.parse(seen);
    const second = first + HOUR;
    clock.set(new Date(first));
    await watcher.scheduler.idle();
    await runToSuccess(`hourly-${first / 1000}`, { synced: 1 });
    await waitForEntries('hourly', 'the first hour', (list) => list.length === 1);
    clock.set(new Date(second));
    await watcher.scheduler.idle();
    const done = await waitForRun(client, ns.name, `hourly-${second / 1000}`, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.spec.type).toBe('Scheduled');
    expect(done.status!.tasks![0]).toMatchObject({ status: { reason: 'Cached' }, taskResult: { synced: 1 } });
    expect(await listTasks(client, ns.name, 'v1', 'Pod', `hourly-${second / 1000}`)).toEqual([]);
  });

  it('past maxAge on the watcher clock the same inputs run again, and the expired entries are evicted', async () => {
    const before = await entries('report');
    expect(before.length).toBe(3);
    clock.advance(2 * HOUR);
    const late = await startReport('late', '2026-11-21', '2');
    await runToSuccess(late, { rows: 46 });
    // The late success is the only fresh entry: every other one expired and was deleted.
    const after = await waitForEntries('report', 'only the late one', (list) => list.length === 1);
    expect(after[0]!.spec.run).toBe(late);
    expect(await registryValue(metrics, 'taskplane_cache_evictions_total', { reason: 'Expired' })).toBeGreaterThanOrEqual(before.length - 1);
  });

  it('entries stay within maxEntries, oldest evicted first, and are garbage-collected with their JobConfig', async () => {
    const { config, run } = synthRun(
      ns.name,
      { name: 'bounded', parallelism: Parallelism.withCount(3), task: TaskTemplate.pod({ spec: podTask(['shard ${task.index_num}']) }), pendingTimeout: Duration.seconds(0), cache: { version: '1', maxAge: Duration.days(1), maxEntries: 2 } },
      (c) => c.run('r', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
    await waitUntil('three pods', async () => ((await listTasks(client, ns.name, 'v1', 'Pod', run.metadata.name)).length === 3 ? true : undefined));
    for (const index of [0, 1, 2]) {
      await succeed(`${run.metadata.name}-${index}-0`, { shard: index });
      await waitForEntries('bounded', `shard ${index} recorded`, (list) => list.some((e) => e.spec.result?.shard === index));
      // Finish times have one-second resolution: the next shard finishes a minute later, so "oldest" is defined.
      clock.advance(60_000);
    }
    const kept = await waitForEntries('bounded', 'two, the newest', (list) => list.length === 2);
    expect(kept.map((e) => e.spec.result!.shard).sort()).toEqual([1, 2]);
    expect(await registryValue(metrics, 'taskplane_cache_evictions_total', { reason: 'OverLimit' })).toBe(1);

    await client.delete({ apiVersion: 'taskplane.dev/v1alpha1', kind: 'JobConfig', metadata: { name: 'bounded', namespace: ns.name } });
    // kube-controller-manager's garbage collector picks up a new CRD's kind within its discovery period (30 s).
    await waitForEntries('bounded', 'gone with their JobConfig', (list) => list.length === 0, 120_000);
  });
});

describe('cache entries the API server does not take', () => {
  const entryRule = { apiGroups: ['taskplane.dev'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['taskcacheentries'], scope: 'Namespaced' };
  const thisNamespace = () => ({ matchLabels: { 'kubernetes.io/metadata.name': ns.name } });
  const guarded = { name: 'guarded', options: { n: Option.string({ default: '0' }) }, task: TaskTemplate.pod({ spec: podTask(['guard ${option.n}']) }), pendingTimeout: Duration.seconds(0), cache: { version: '1', maxAge: Duration.days(1) } };
  const startGuarded = async (id: string, n: string) => {
    const { config, run } = synthRun(ns.name, guarded, (c) => c.run(id, { materialization: Materialization.DEFERRED, options: { n } }));
    await applyAsGitOps([config, run]);
    return run.metadata.name;
  };
  /** The status the API server answers a TaskCacheEntry write in this namespace with now (a dry run: nothing is kept). */
  const probe = () => {
    const spec = { configName: 'probe', key: 'probe', version: '1', index: { indexNumber: 0 }, run: 'probe', task: 'probe-0-0', finishTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    const object = cacheEntryObject({ metadata: { name: 'probe', namespace: ns.name, uid: 'probe-uid' } }, spec) as unknown as KubeObject;
    return client.apply(object, undefined, { dryRun: true }).then(() => 200, (e: ApiError) => e.status);
  };
  /** Creates the admission objects, waits until entry writes get `status`, runs `body`, then removes them. */
  async function whileAnswered(status: number, admission: KubeObject[], body: () => Promise<void>): Promise<void> {
    for (const object of admission) await client.create(object);
    try {
      await waitUntil(`TaskCacheEntry writes answered ${status}`, async () => ((await probe()) === status ? true : undefined));
      await body();
    } finally {
      for (const object of [...admission].reverse()) await client.delete(object).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    }
  }

  it('an entry write that fails (a webhook the API server cannot reach) holds the success back, says why on the run, and lands once the API server takes it: at least once, never lost', async () => {
    // failurePolicy Fail and nothing listening on the port: every entry write is answered 500, as in an outage.
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: `${ns.name}-entries-down` },
      webhooks: [{ name: 'entries.taskplane.test', clientConfig: { url: `https://127.0.0.1:${await freePort()}/` }, rules: [entryRule], namespaceSelector: thisNamespace(), failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'], timeoutSeconds: 1 }],
    } as unknown as KubeObject;
    let name = '';
    await whileAnswered(500, [webhook], async () => {
      name = await startGuarded('outage', '1');
      const [pod] = await waitUntil(`the task of ${name}`, async () => {
        const pods = await listTasks(client, ns.name, 'v1', 'Pod', name);
        return pods.length === 1 ? pods : undefined;
      });
      await succeed(pod!.metadata.name, { rows: 1 });
      const held = await waitForRun(client, ns.name, name, 'ReconcileError', (r) => r.status?.conditions?.some((c) => c.type === 'ReconcileError') === true);
      expect(held.status!.conditions!.find((c) => c.type === 'ReconcileError')!.message).toContain('webhook');
      // The success is not on record while its entry is not: the next reconcile still sees it as new.
      expect(held.status!.phase).not.toBe('Succeeded');
      expect(await entries('guarded')).toEqual([]);
    });
    const done = await waitForRun(client, ns.name, name, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(done.status!.tasks![0]!.taskResult).toEqual({ rows: 1 });
    const [entry] = await waitForEntries('guarded', 'the held one', (list) => list.length === 1);
    expect(entry!.spec).toMatchObject({ run: name, result: { rows: 1 } });
  });

  it('an entry the API server refuses (an admission policy) is reported as a Warning and never holds the run up', async () => {
    const policy = `${ns.name}-no-entries`;
    const admission = [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: policy },
        spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [entryRule] }, validations: [{ expression: 'false', message: 'no cache entries here' }] },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: policy },
        spec: { policyName: policy, validationActions: ['Deny'], matchResources: { namespaceSelector: thisNamespace() } },
      },
    ] as unknown as KubeObject[];
    await whileAnswered(422, admission, async () => {
      const name = await startGuarded('refused', '2');
      await runToSuccess(name, { rows: 2 });
      const warning = await waitUntil('the CacheEntryRefused event', async () => (await events(client, ns.name, name)).find((e) => e.reason === 'CacheEntryRefused'));
      expect(warning).toMatchObject({ type: 'Warning', message: expect.stringContaining(`the result of ${name}-0-0 was not cached`) });
      expect((await entries('guarded')).map((e) => e.spec.run)).not.toContain(name);
    });
  });
});

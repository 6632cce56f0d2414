/**
 * HTTP tasks against the real control plane: runs applied the way Argo CD applies them, the watcher
 * performing the requests against a loopback server, assertions on the JobRun, the HttpTask and what
 * the server saw.
 */
import { Duration } from 'cdk8s';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { TaskTemplate, Parallelism, WatcherExecutor, type HttpTaskProps } from '../../constructs/index.js';
import { httpTaskCrd, jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { BUILT_IN_TASK_RESOURCES, HTTP_TASK_RESOURCE } from '../../engine/task-kinds.js';
import type { HttpTaskStatus } from '../../engine/schema/http.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { kill } from '../../cli/kill.js';
import { applyCrds, clusterInfo, createNamespace, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, ARGOCD, events, spawnWatcher, startWatcher, synthRun, testClient, waitForRun, type WatcherProcess } from './helpers.js';
import { startTestServer, type TestServer } from './http-server.js';
import { install, serviceAccountConfig } from './identities.js';

const client = testClient();
const HTTP = 'taskplane.dev/v1alpha1';
const SECRET_VALUE = 'Bearer tp-very-secret-7f3a9c';
let server: TestServer;
let watcher: Watcher;
let ns: TestNamespace;
let logs = '';
/** The watcher's in-flight limit in these tests. */
const POOL = 8;

type HttpTaskObject = KubeObject & { status?: HttpTaskStatus };

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd(), httpTaskCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-http');
  server = await startTestServer();
  const sink = new Writable({ write: (chunk: Buffer, _, done) => ((logs += chunk.toString()), done()) });
  watcher = await startWatcher({
    namespace: ns.name,
    logger: pino({ level: 'trace' }, sink),
    taskResources: [...BUILT_IN_TASK_RESOURCES, HTTP_TASK_RESOURCE],
    // Loopback only: the test server. Cluster Services are the default.
    http: { egress: { hosts: [], cidrs: ['127.0.0.0/8'] }, concurrency: POOL },
  });
});

afterAll(async () => {
  await watcher?.stop();
  await server?.close();
  await ns?.delete();
});

const httpTask = (name: string) => client.get<HttpTaskObject>(HTTP, 'HttpTask', ns.name, name);
const waitForTask = (name: string, what: string, check: (t: HttpTaskObject) => boolean, timeoutMs = 30_000) =>
  waitUntil(`HttpTask ${name}: ${what}`, async () => {
    const task = await httpTask(name).catch(() => undefined);
    return task && check(task) ? task : undefined;
  }, timeoutMs);

function start(config: string, props: Omit<HttpTaskProps, 'request'> & { path: string; method?: string; headers?: HttpTaskProps['request']['headers'] }, jobProps: Record<string, unknown> = {}) {
  const { path, method, headers, ...rest } = props;
  const task = TaskTemplate.http({ request: { method: method ?? 'GET', url: `${server.url}${path}`, ...(headers && { headers }) }, ...rest });
  const synthed = synthRun(ns.name, { name: config, task, ...jobProps }, (c) => c.run('r1', {}));
  return { ...synthed, apply: () => applyAsGitOps([synthed.config, synthed.run, ...synthed.tasks]) };
}

describe('HTTP tasks', () => {
  it('succeed by CEL on the body: one request, the result stored, Idempotency-Key stable per index', async () => {
    const job = start('warm', { path: '/ok', response: { successCondition: 'status == 200 && body.warmed > 0', result: 'body.warmed' } });
    expect(job.tasks.map((t) => t.kind)).toEqual(['HttpTask']);
    await job.apply();
    const run = await waitForRun(client, ns.name, 'warm-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(run.status!.tasks!.map((t) => [t.name, t.status.result, t.taskResult])).toEqual([['warm-r1-0-0', 'Succeeded', { value: 3 }]]);
    const task = await httpTask('warm-r1-0-0');
    expect(task.status).toMatchObject({ state: 'Succeeded', statusCode: 200, result: '3', executor: expect.any(String), startTime: expect.any(String) });
    const seen = server.requests.filter((r) => r.path === '/ok');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['idempotency-key']).toBe(`${ns.name}/warm-r1/0`);
  });

  it('an HttpTask the run did not make is never sent, even under a run\'s labels (the watcher is a deputy)', async () => {
    const [legit] = start('warm', { path: '/ok' }).tasks;
    // The next attempt's name, which the run (finished) never records, with a request of someone else's.
    const forged = { ...legit!, metadata: { ...legit!.metadata, name: 'warm-r1-0-1', labels: { ...legit!.metadata.labels, 'taskplane.dev/retry-index': '1' } }, spec: { request: { method: 'GET', url: `${server.url}/echo?forged`, headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'report-token', key: 'token' } } }] } } };
    await client.create(forged as never);
    // Sync point: the runner takes HttpTask events in order and sends in arrival order, so once a task
    // created after the forged one was sent, the forged one was decided: waiting for its run to record
    // it, refused (NotAdmitted), or killed by the run as an attempt it never asked for.
    const later = start('later', { path: '/ok' });
    await later.apply();
    await waitForRun(client, ns.name, 'later-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(server.requests.filter((r) => r.path === '/echo?forged')).toEqual([]);
    const status = (await httpTask('warm-r1-0-1')).status;
    // Never recorded as sending (no executor, no start time), and if it ended, it says nothing was sent.
    expect(status?.executor).toBeUndefined();
    expect(status?.startTime).toBeUndefined();
    if (status) expect(status).toMatchObject({ state: expect.stringMatching(/^(Failed|Killed)$/), message: expect.stringMatching(/(not|never) sent$/) });
  });

  it('fail by status code, then the retry succeeds (500 then 200): two requests, one per attempt', async () => {
    const job = start('flaky', { path: '/flaky' }, { maxAttempts: 2 });
    await job.apply();
    const run = await waitForRun(client, ns.name, 'flaky-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(run.status!.tasks!.map((t) => [t.name, t.status.result, t.status.reason])).toEqual([
      ['flaky-r1-0-0', 'Failed', 'SuccessConditionNotMet'],
      ['flaky-r1-0-1', 'Succeeded', undefined],
    ]);
    expect(server.count('/flaky')).toBe(2);
    const keys = server.requests.filter((r) => r.path === '/flaky').map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([`${ns.name}/flaky-r1/0`, `${ns.name}/flaky-r1/0`]);
  });

  it('a kill aborts the request in flight: the server sees the connection closed, the task is Killed', async () => {
    const job = start('stuck', { path: '/hang' });
    const before = server.aborted.filter((p) => p === '/hang').length;
    await job.apply();
    await waitForTask('stuck-r1-0-0', 'Starting', (t) => t.status?.state === 'Starting');
    await waitUntil('request received', async () => server.count('/hang') > 0 || undefined);
    await kill('stuck-r1', { kubeconfig: clusterInfo().kubeconfigPath, namespace: ns.name });
    const task = await waitForTask('stuck-r1-0-0', 'Killed', (t) => t.status?.state === 'Killed');
    expect(task.status!.message).toContain('the request was aborted');
    await waitUntil('server saw the connection close', async () => server.aborted.filter((p) => p === '/hang').length > before || undefined);
    await waitForRun(client, ns.name, 'stuck-r1', 'Killed', (r) => r.status?.phase === 'Killed');
  });

  it('the task timeout kills a request that runs too long', async () => {
    const job = start('slowpoke', { path: '/hang' }, { taskTimeout: Duration.seconds(2) });
    await job.apply();
    const task = await waitForTask('slowpoke-r1-0-0', 'Killed', (t) => t.status?.state === 'Killed');
    expect(task.status!.message).toContain('aborted');
    const run = await waitForRun(client, ns.name, 'slowpoke-r1', 'finished', (r) => r.status?.phase === 'Failed');
    expect(run.status!.tasks![0]!.status).toMatchObject({ result: 'Killed', reason: 'TaskTimeout' });
  });

  it('a 200 whose body does not parse as JSON fails the task with InvalidBody', async () => {
    const job = start('garbled', { path: '/invalid-json' });
    await job.apply();
    const run = await waitForRun(client, ns.name, 'garbled-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(run.status!.tasks![0]!.status).toMatchObject({ result: 'Failed', reason: 'InvalidBody', message: expect.stringContaining('status 200; the body is not valid JSON') });
  });

  it("the request's own timeout fails the task with Timeout", async () => {
    const job = start('impatient', { path: '/hang', timeout: Duration.seconds(1) });
    await job.apply();
    const run = await waitForRun(client, ns.name, 'impatient-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(run.status!.tasks![0]!.status).toMatchObject({ result: 'Failed', reason: 'Timeout' });
  });

  it('a Secret header value reaches the server and nothing else: not the YAML, status, events or logs', async () => {
    await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'report-token', namespace: ns.name }, stringData: { token: SECRET_VALUE } } as never);
    // The echo route returns the request's headers: the default result (the body) would carry the Secret.
    const job = start('report', { path: '/echo', method: 'POST', headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'report-token', key: 'token' } } }] });
    expect(JSON.stringify([job.config, job.run, ...job.tasks])).not.toContain('tp-very-secret');
    await job.apply();
    const run = await waitForRun(client, ns.name, 'report-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
    expect(server.requests.find((r) => r.path === '/echo')!.headers.authorization).toBe(SECRET_VALUE);
    const task = await httpTask('report-r1-0-0');
    // Redacted before it is written.
    expect(JSON.parse(task.status!.result!)).toMatchObject({ method: 'POST', headers: { authorization: '[redacted]' } });
    const everything = JSON.stringify([run, task, await events(client, ns.name, 'report-r1')]) + logs;
    expect(everything).not.toContain('tp-very-secret');
  });

  it('a missing Secret fails the task without sending, naming the Secret', async () => {
    const job = start('nosecret', { path: '/echo?nosecret', headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'absent', key: 'token' } } }] });
    const before = server.count('/echo');
    await job.apply();
    const run = await waitForRun(client, ns.name, 'nosecret-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(run.status!.tasks![0]!.status).toMatchObject({ reason: 'SecretNotFound', message: expect.stringContaining(`Secret ${ns.name}/absent does not exist`) });
    expect(server.count('/echo')).toBe(before);
  });

  it('egress refusals say why in the status: the metadata address, and a redirect off the policy', async () => {
    const metadata = synthRun(ns.name, { name: 'imds', task: TaskTemplate.http({ request: { method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' } }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([metadata.config, metadata.run, ...metadata.tasks]);
    const refused = await waitForRun(client, ns.name, 'imds-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(refused.status!.tasks![0]!.status).toMatchObject({ result: 'Failed', reason: 'EgressRefused', message: expect.stringContaining('169.254.169.254') });

    const redirect = start('hop', { path: `/redirect?to=${encodeURIComponent('http://10.1.2.3/x')}`, crossHostRedirects: true });
    await redirect.apply();
    const hop = await waitForRun(client, ns.name, 'hop-r1', 'Failed', (r) => r.status?.phase === 'Failed');
    expect(hop.status!.tasks![0]!.status).toMatchObject({ reason: 'EgressRefused', message: expect.stringContaining("outside the watcher's egress policy") });
  });

  it(`1,000 HttpTasks of one run finish through the bounded pool: never more than ${POOL} requests in flight`, { timeout: 240_000 }, async () => {
    const job = start('fanout', { path: '/slow?ms=20' }, { parallelism: Parallelism.withCount(1000) });
    await job.apply();
    const run = await waitForRun(client, ns.name, 'fanout-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 200_000);
    expect(run.status!.progress).toBe('1000/1000');
    // One request per task: nothing sent twice, nothing lost.
    expect(server.count('/slow')).toBe(1000);
    // Memory is bounded by the pool (in-flight requests and their bodies); bench/http.ts measures it with 1,000 in flight.
    expect(server.peak.slow).toBeLessThanOrEqual(POOL);
    expect(server.peak.slow).toBeGreaterThan(1);
  });
});

describe('with the RBAC WatcherInstall derives (its ServiceAccount token, one watched namespace)', () => {
  it('runs HTTP tasks, reads the Secret it was given and no other', { timeout: 120_000 }, async () => {
    const suffix = randomBytes(3).toString('hex');
    const watched = await createNamespace('tp-http-rbac');
    const installed = await install({
      name: `tp-http-${suffix}`,
      namespace: `tp-http-system-${suffix}`,
      executors: [WatcherExecutor.http({ secretNames: ['granted'], egressCidrs: ['127.0.0.0/8'] })],
      watchNamespace: watched.name,
      personas: false,
    });
    const own = await startWatcher({
      kubeConfig: await serviceAccountConfig(installed.namespace, installed.name),
      namespace: watched.name,
      taskResources: installed.taskResources,
      http: { egress: { hosts: [], cidrs: ['127.0.0.0/8'] } },
    });
    try {
      for (const name of ['granted', 'other']) {
        await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: watched.name }, stringData: { token: `Bearer ${name}` } } as never);
      }
      const job = (config: string, secret: string) => {
        const task = TaskTemplate.http({ request: { method: 'GET', url: `${server.url}/echo?${config}`, headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: secret, key: 'token' } } }] }, response: { result: 'body.method' } });
        const synthed = synthRun(watched.name, { name: config, task }, (c) => c.run('r1', {}));
        return applyAsGitOps([synthed.config, synthed.run, ...synthed.tasks]);
      };
      await job('allowed', 'granted');
      await job('denied', 'other');
      await waitForRun(client, watched.name, 'allowed-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
      const denied = await waitForRun(client, watched.name, 'denied-r1', 'Failed', (r) => r.status?.phase === 'Failed');
      expect(denied.status!.tasks![0]!.status).toMatchObject({ reason: 'SecretForbidden', message: expect.stringContaining('WatcherExecutor.http({ secretNames })') });
      expect(server.requests.filter((r) => r.path === '/echo?allowed').map((r) => r.headers.authorization)).toEqual(['Bearer granted']);
      expect(server.requests.filter((r) => r.path === '/echo?denied')).toEqual([]);
    } finally {
      await own.stop();
      await watched.delete();
      for (const o of installed.objects) if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) await client.delete(o).catch(() => undefined);
    }
  });
});

describe('a watcher killed with SIGKILL mid-request', () => {
  it('the next watcher marks the attempt ExecutorLost and the retry is sent once: no unrecorded duplicate', { timeout: 180_000 }, async () => {
    const job = start('lost', { path: '/hang-once' }, { maxAttempts: 2 });
    // Out-of-process watchers from here on.
    await watcher.stop();
    watcher = undefined as never;
    const processes: WatcherProcess[] = [];
    const spawn = async () => {
      const child = await spawnWatcher({
        kubeconfig: clusterInfo().kubeconfigPath,
        namespace: ns.name,
        args: ['--task-resources', 'pods,httptasks.taskplane.dev', '--http-egress-hosts', '', '--http-egress-cidrs', '127.0.0.0/8'],
      });
      processes.push(child);
      return child;
    };
    try {
      const first = await spawn();
      await job.apply();
      await waitForTask('lost-r1-0-0', 'Starting', (t) => t.status?.state === 'Starting', 90_000);
      await waitUntil('request received', async () => server.count('/hang-once') === 1 || undefined);
      await first.kill();
      const second = await spawn();
      const run = await waitForRun(client, ns.name, 'lost-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 90_000).catch((error: Error) =>
        Promise.reject(new Error(`${error.message}\nsecond watcher's log:\n${second.output().slice(-4000)}`)),
      );
      expect(run.status!.tasks!.map((t) => [t.name, t.status.result, t.status.reason])).toEqual([
        ['lost-r1-0-0', 'Failed', 'ExecutorLost'],
        ['lost-r1-0-1', 'Succeeded', undefined],
      ]);
      // One request per attempt: the lost one (which the server may or may not have processed) and the retry.
      expect(server.count('/hang-once')).toBe(2);
      const lost = await httpTask('lost-r1-0-0');
      expect(lost.status!.message).toContain('may or may not have reached the server');
    } finally {
      for (const child of processes) await child.kill();
    }
  });
});

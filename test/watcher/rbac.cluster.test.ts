/**
 * The watcher's RBAC, as `WatcherInstall` synthesizes it, applied to the real control plane. Its
 * ServiceAccount gets a token from the TokenRequest API, and with that token:
 *   - SelfSubjectAccessReviews: every call the watcher's code makes is allowed (the table below is
 *     read off watcher/controller.ts, watcher/lease.ts and watcher/kube/), and what it must never do
 *     is denied;
 *   - a few denied calls are made for real and answered 403;
 *   - the real watcher runs in-process and carries runs through a retry, an in-place kill and the
 *     deletion of a custom resource it created, without a single 403: the RBAC is sufficient, not
 *     only plausible.
 * The Deployment's Pods must also be admitted into the namespace under Pod Security `restricted`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration } from 'cdk8s';
import { CustomResourceManifest, Materialization, Option, TaskTemplate, WatcherExecutor } from '../../constructs/index.js';
import type { TaskResource } from '../../engine/task-kinds.js';
import { kill } from '../../cli/kill.js';
import { Watcher } from '../../watcher/controller.js';
import { ApiError, KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { createMetrics, type WatcherMetrics } from '../../watcher/metrics.js';
import {
  applyCrds, clients, clusterInfo, createNamespace, finishPod, parseYaml, waitUntil, type TestNamespace,
} from '../cluster/client.js';
import { freePort } from '../cluster/harness.js';
import { applyAsGitOps, ARGOCD, events, markPodRunning, podTask, synthRun, testClient, waitForRun } from './helpers.js';
import { install, serviceAccountConfig } from './identities.js';

const admin = clients();
const client = testClient();
const suffix = randomBytes(3).toString('hex');
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../cluster/fixtures');
const tektonCrd = parseYaml(readFileSync(path.join(fixtures, 'tekton-taskrun-crd.yaml'), 'utf8'));

interface Access {
  readonly verb: string;
  readonly group?: string;
  readonly resource: string;
  readonly subresource?: string;
  /** Absent: all namespaces (or a cluster-scoped resource). */
  readonly namespace?: string;
  readonly name?: string;
}

const describeAccess = (a: Access) =>
  `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.name ? ` ${a.name}` : ''} in ${a.namespace ?? 'all namespaces'}`;

/** What the API server says the token's holder may do (SelfSubjectAccessReview, asked with the token itself). */
async function allowed(kc: KubeConfig, access: Access): Promise<boolean> {
  const review = await new KubeClient(kc, 'taskplane-test').create<KubeObject & { status: { allowed: boolean } }>({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: { name: '' },
    spec: { resourceAttributes: { ...access, group: access.group ?? '' } },
  });
  return review.status.allowed;
}

async function nonResourceAllowed(kc: KubeConfig, urlPath: string): Promise<boolean> {
  const review = await new KubeClient(kc, 'taskplane-test').create<KubeObject & { status: { allowed: boolean } }>({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: { name: '' },
    spec: { nonResourceAttributes: { verb: 'get', path: urlPath } },
  });
  return review.status.allowed;
}

/**
 * Every call the watcher makes, read off the code. `runNs` is where runs live; `home` the watcher's
 * namespace; `lease` its Lease.
 */
function needed(runNs: string, home: string, lease: string): [Access, string][] {
  const taskKinds: [string, string][] = [['', 'pods'], ['batch', 'jobs'], ['argoproj.io', 'workflows'], ['tekton.dev', 'taskruns']];
  return [
    [{ verb: 'list', group: 'taskplane.dev', resource: 'jobruns' }, 'Reflector: the JobRun informer lists...'],
    [{ verb: 'watch', group: 'taskplane.dev', resource: 'jobruns' }, '...then watches, in all namespaces'],
    [{ verb: 'list', group: 'taskplane.dev', resource: 'jobconfigs' }, 'the JobConfig informer (concurrency, UIDs)'],
    [{ verb: 'watch', group: 'taskplane.dev', resource: 'jobconfigs' }, 'the JobConfig informer'],
    [{ verb: 'get', group: 'taskplane.dev', resource: 'jobconfigs', namespace: runNs, name: 'any-config' }, 'RunAdmission: re-reads a config the cache lacks'],
    [{ verb: 'patch', group: 'taskplane.dev', resource: 'jobruns', subresource: 'status', namespace: runNs, name: 'any-run' }, 'writeStatus: server-side apply to the status subresource'],
    [{ verb: 'patch', group: 'taskplane.dev', resource: 'jobconfigs', subresource: 'status', namespace: runNs, name: 'any-config' }, 'reconcileConfig: JobConfig status by server-side apply'],
    [{ verb: 'update', group: 'taskplane.dev', resource: 'jobruns', subresource: 'finalizers', namespace: runNs, name: 'any-run' }, 'createTask: blockOwnerDeletion on the ownerReference'],
    [{ verb: 'create', resource: 'events', namespace: runNs }, 'EventRecorder: a new Event'],
    [{ verb: 'patch', resource: 'events', namespace: runNs, name: 'any-event' }, 'EventRecorder: the count of a repeated or combined Event'],
    [{ verb: 'create', group: 'taskplane.dev', resource: 'jobruns', namespace: runNs }, 'scheduler: a scheduled run when it falls due'],
    [{ verb: 'delete', group: 'taskplane.dev', resource: 'jobruns', namespace: runNs, name: 'any-run' }, 'scheduler: history limits (only runs it created)'],
    [{ verb: 'list', group: 'taskplane.dev', resource: 'taskcacheentries', namespace: runNs }, 'CacheEntries.read: a JobConfig\'s entries by label'],
    [{ verb: 'create', group: 'taskplane.dev', resource: 'taskcacheentries', namespace: runNs }, 'CacheEntries.record: server-side apply that creates'],
    [{ verb: 'patch', group: 'taskplane.dev', resource: 'taskcacheentries', namespace: runNs, name: 'any-entry' }, 'CacheEntries.record: server-side apply'],
    [{ verb: 'delete', group: 'taskplane.dev', resource: 'taskcacheentries', namespace: runNs, name: 'any-entry' }, 'CacheEntries.record: eviction'],
    ...taskKinds.flatMap(([group, resource]): [Access, string][] => [
      [{ verb: 'list', group, resource }, `task informer of ${resource} (label taskplane.dev/run)`],
      [{ verb: 'watch', group, resource }, `task informer of ${resource}`],
      [{ verb: 'create', group, resource, namespace: runNs }, 'createTask: retries and Deferred tasks'],
      [{ verb: 'get', group, resource, namespace: runNs, name: 'any-task' }, 'createTask: AlreadyExists, is it ours?'],
      [{ verb: 'patch', group, resource, namespace: runNs, name: 'any-task' }, 'killTask: activeDeadlineSeconds, shutdown, killPatch'],
    ]),
    [{ verb: 'delete', group: 'tekton.dev', resource: 'taskruns', namespace: runNs, name: 'any-task' }, 'killTask: a watcher-created custom resource without killPatch'],
    [{ verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: lease }, 'LeaseLock.read'],
    [{ verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: home }, 'LeaseLock: first acquire'],
    [{ verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: lease }, 'LeaseLock: renew, take over, request, hand over, release (PUT)'],
  ];
}

/** What the watcher must never be able to do. */
function forbidden(runNs: string, home: string, lease: string): [Access, string][] {
  return [
    [{ verb: 'get', resource: 'secrets', namespace: home, name: 'any' }, 'read Secrets, even in its own namespace'],
    [{ verb: 'list', resource: 'secrets' }, 'list Secrets'],
    [{ verb: 'list', resource: 'configmaps', namespace: runNs }, 'read ConfigMaps'],
    [{ verb: 'delete', resource: 'pods', namespace: runNs, name: 'any-task' }, 'delete Pods (GitOps would re-create them: kills are in place)'],
    [{ verb: 'deletecollection', resource: 'pods', namespace: runNs }, 'delete Pods in bulk'],
    [{ verb: 'delete', group: 'batch', resource: 'jobs', namespace: runNs, name: 'any-task' }, 'delete Jobs'],
    [{ verb: 'delete', group: 'argoproj.io', resource: 'workflows', namespace: runNs, name: 'any-task' }, 'delete Workflows (kill is spec.shutdown)'],
    [{ verb: 'update', resource: 'pods', namespace: runNs, name: 'any-task' }, 'replace Pods (only patch)'],
    [{ verb: 'create', resource: 'pods', subresource: 'exec', namespace: runNs, name: 'any-task' }, 'exec into Pods'],
    [{ verb: 'update', group: 'taskplane.dev', resource: 'jobruns', namespace: runNs, name: 'any-run' }, 'change a JobRun spec (Git owns it)'],
    [{ verb: 'patch', group: 'taskplane.dev', resource: 'jobruns', namespace: runNs, name: 'any-run' }, 'patch a JobRun spec (killTimestamp is for people)'],
    [{ verb: 'update', group: 'taskplane.dev', resource: 'jobruns', subresource: 'status', namespace: runNs, name: 'any-run' }, 'replace JobRun status (it patches)'],
    [{ verb: 'patch', group: 'taskplane.dev', resource: 'jobconfigs', namespace: runNs, name: 'any-config' }, 'change a JobConfig'],
    [{ verb: 'list', resource: 'events', namespace: runNs }, 'read Events'],
    [{ verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: runNs }, 'write Leases outside its namespace'],
    [{ verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: lease }, 'take a Lease in kube-system'],
    [{ verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: 'someone-else' }, "take another component's Lease in its own namespace"],
    [{ verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: lease }, 'delete its Lease'],
    [{ verb: 'update', group: 'taskplane.dev', resource: 'taskcacheentries', namespace: runNs, name: 'any-entry' }, 'replace cache entries (it applies)'],
    [{ verb: 'list', resource: 'nodes' }, 'list Nodes'],
    [{ verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: home, name: 'any' }, 'mint tokens'],
    [{ verb: 'impersonate', resource: 'users', name: 'admin' }, 'impersonate'],
    [{ verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'cluster-admin' }, 'bind roles'],
    [{ verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'any' }, 'escalate roles'],
    [{ verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }, 'install CRDs'],
  ];
}

/** The watcher, in-process, authenticated as the ServiceAccount and allowed the install's kinds; its logs and metrics kept for the checks. */
async function startAs(kc: KubeConfig, runNs: string, home: string, lease: string, taskResources: readonly TaskResource[]): Promise<{ watcher: Watcher; metrics: WatcherMetrics; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => (logs.push(String(chunk)), done()) });
  const metrics = createMetrics();
  const watcher = new Watcher({
    kubeConfig: kc,
    logger: pino({ level: 'debug' }, sink),
    metrics,
    namespace: runNs,
    taskResources,
    leaderElection: { namespace: home, name: lease, identity: `rbac-test-${process.pid}` },
  });
  await watcher.start();
  await waitUntil('leadership', async () => watcher.isLeader);
  return { watcher, metrics, logs };
}

/** A log line about a request the API server refused (not a transient error such as a CRD's 429 while its storage starts). */
const refusal = (line: string) => /forbidden|unauthorized|: 40[13] /i.test(line);

async function refusedRequests(metrics: WatcherMetrics): Promise<string[]> {
  return (await metrics.apiRequests.get()).values
    .filter((v) => ['401', '403'].includes(String(v.labels.code)) && v.value > 0)
    .map((v) => `${v.labels.verb} ${v.labels.resource}: ${v.labels.code} x${v.value}`);
}

/** Fail, retry, succeed: informers, creates, status writes, events, all as the ServiceAccount. */
async function retryScenario(runNs: string, name: string): Promise<void> {
  const { config, run, tasks } = synthRun(runNs, { name, maxAttempts: 2, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
  await applyAsGitOps([config, run, ...tasks]);
  await finishPod(runNs, `${name}-r1-0-0`, 'Failed');
  await waitUntil('the retry', () => client.get('v1', 'Pod', runNs, `${name}-r1-0-1`), 20_000);
  await finishPod(runNs, `${name}-r1-0-1`, 'Succeeded');
  const done = await waitForRun(client, runNs, `${name}-r1`, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  expect(done.status!.tasks!.map((t) => [t.name, t.status.result])).toEqual([[`${name}-r1-0-0`, 'Failed'], [`${name}-r1-0-1`, 'Succeeded']]);
  await waitUntil('the Finished event', async () => (await events(client, runNs, `${name}-r1`)).some((e) => e.reason === 'Finished'));
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function deleteInstall(objects: KubeObject[]): Promise<void> {
  for (const o of objects) {
    if (o.kind === 'CustomResourceDefinition') continue; // shared with the other test files
    if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) await client.delete(o).catch(() => undefined);
  }
}

describe('cluster-wide install (the default)', () => {
  let runNs: TestNamespace;
  let home: string;
  let lease: string;
  let objects: KubeObject[];
  let taskResources: TaskResource[];
  let saConfig: KubeConfig;

  beforeAll(async () => {
    await applyCrds(tektonCrd as never, { fieldManager: ARGOCD, force: true });
    runNs = await createNamespace('tp-rbac');
    cleanups.push(() => runNs.delete());
    const installed = await install({
      name: `taskplane-watcher-${suffix}`,
      namespace: `tp-system-${suffix}`,
      executors: [WatcherExecutor.pods(), WatcherExecutor.jobs(), WatcherExecutor.workflows(), WatcherExecutor.customResource({ group: 'tekton.dev', resource: 'taskruns' })],
      // The personas' ClusterRoles have cluster-wide names; trust.cluster.test.ts tests them under its own prefix.
      personas: false,
    });
    ({ objects, namespace: home, name: lease, taskResources } = installed);
    cleanups.push(() => deleteInstall(objects));
    saConfig = await serviceAccountConfig(home, lease);
  });

  it('the token authenticates as the ServiceAccount', async () => {
    const review = await new KubeClient(saConfig, 'taskplane-test').create<KubeObject & { status: { userInfo: { username: string; groups: string[] } } }>({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: { name: '' },
    });
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${home}:${lease}`);
    expect(review.status.userInfo.groups).toContain(`system:serviceaccounts:${home}`);
  });

  it('allows every call the watcher makes', async () => {
    const denied: string[] = [];
    for (const [access, why] of needed(runNs.name, home, lease)) {
      if (!(await allowed(saConfig, access))) denied.push(`${describeAccess(access)} (${why})`);
    }
    // Discovery (KubeClient.path): the built-in system:discovery role, bound to every authenticated user.
    for (const urlPath of ['/api/v1', '/apis/taskplane.dev/v1alpha1', '/apis/coordination.k8s.io/v1']) {
      if (!(await nonResourceAllowed(saConfig, urlPath))) denied.push(`GET ${urlPath} (discovery)`);
    }
    expect(denied).toEqual([]);
  });

  it('denies what it must never do', async () => {
    const permitted: string[] = [];
    for (const [access, why] of forbidden(runNs.name, home, lease)) {
      if (await allowed(saConfig, access)) permitted.push(`${describeAccess(access)} (${why})`);
    }
    expect(permitted).toEqual([]);
  });

  it('is refused for real: Secrets, deleting a Pod, editing a JobRun spec, Nodes, a Lease elsewhere', async () => {
    const sa = new KubeClient(saConfig, 'taskplane-test');
    const { config, run, tasks } = synthRun(runNs.name, { name: 'target', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
    await applyAsGitOps([config, run, ...tasks]);
    const status = (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e instanceof ApiError ? e.status : -1));
    expect(await status(sa.list('v1', 'Secret', {}, home))).toBe(403);
    expect(await status(sa.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'target-r1-0-0', namespace: runNs.name } }))).toBe(403);
    expect(await status(sa.mergePatch(run, { spec: { killTimestamp: '2026-01-01T00:00:00Z' } }))).toBe(403);
    expect(await status(sa.list('v1', 'Node'))).toBe(403);
    const foreignLease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: lease, namespace: runNs.name }, spec: {} };
    expect(await status(sa.create(foreignLease))).toBe(403);
    // ...while what it needs works with the same client.
    expect((await sa.get('v1', 'Pod', runNs.name, 'target-r1-0-0')).metadata.name).toBe('target-r1-0-0');
  });

  it('the Deployment\'s Pods are admitted under Pod Security "restricted" (and that namespace does enforce it)', async () => {
    const pods = await waitUntil('the watcher Pods', async () => {
      const list = await admin.core.listNamespacedPod({ namespace: home, labelSelector: `app.kubernetes.io/name=${lease}` });
      return list.items.length === 2 ? list.items : undefined;
    });
    expect(pods.map((p) => p.spec?.serviceAccountName)).toEqual([lease, lease]);
    // Mounted token: the projected ServiceAccount volume is there (cdk8s-plus would have turned it off).
    expect(pods[0]!.spec?.volumes?.map((v) => v.name)).toEqual(expect.arrayContaining(['tmp', expect.stringMatching(/^kube-api-access-/)]));
    const privileged = { metadata: { name: 'privileged' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true } }] } };
    await expect(admin.core.createNamespacedPod({ namespace: home, body: privileged, dryRun: 'All' })).rejects.toThrow(/violates PodSecurity .*restricted:latest/);
  });

  describe('the real watcher, running as the ServiceAccount', () => {
    let running: Awaited<ReturnType<typeof startAs>>;
    beforeAll(async () => {
      running = await startAs(saConfig, runNs.name, home, lease, taskResources);
      cleanups.push(() => running.watcher.stop());
    });

    it('retries a failed task and finishes the run', async () => {
      await retryScenario(runNs.name, 'flaky');
    });

    it('kills a Git-applied Pod in place (patch) and deletes a custom resource it created (delete)', async () => {
      const pod = synthRun(runNs.name, { name: 'stop-pod', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', {}));
      const scan = synthRun(
        runNs.name,
        {
          name: 'stop-scan',
          task: TaskTemplate.customResource({
            manifest: CustomResourceManifest.fromObject({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: { taskRef: { name: 'scan' } } }),
            successCondition: "has(self.status) && self.status.phase == 'Done'",
            failureCondition: "has(self.status) && self.status.phase == 'Error'",
          }),
        },
        (c) => c.run('r1', { materialization: Materialization.DEFERRED }),
      );
      await applyAsGitOps([pod.config, pod.run, ...pod.tasks, scan.config, scan.run]);
      await markPodRunning(client, runNs.name, 'stop-pod-r1-0-0');
      await waitForRun(client, runNs.name, 'stop-pod-r1', 'Running', (r) => r.status?.phase === 'Running');
      const taskRun = await waitUntil('the watcher-created TaskRun', () => client.get('tekton.dev/v1', 'TaskRun', runNs.name, 'stop-scan-r1-0-0'));
      expect(taskRun.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'JobRun', name: 'stop-scan-r1', blockOwnerDeletion: true })]);

      for (const runName of ['stop-pod-r1', 'stop-scan-r1']) await kill(runName, { kubeconfig: clusterInfo().kubeconfigPath, namespace: runNs.name });
      await waitUntil('activeDeadlineSeconds set by the watcher', async () => {
        const live = await client.get<KubeObject & { spec: { activeDeadlineSeconds?: number } }>('v1', 'Pod', runNs.name, 'stop-pod-r1-0-0');
        return live.spec.activeDeadlineSeconds !== undefined;
      });
      await waitUntil('the TaskRun deleted by the watcher', () =>
        client.get('tekton.dev/v1', 'TaskRun', runNs.name, 'stop-scan-r1-0-0').then(() => false, (e: unknown) => e instanceof ApiError && e.status === 404));
    });

    it('caches with its own rights: lists and writes entries, answers a run from one, evicts beyond maxEntries', async () => {
      const entries = async () => (await client.list<KubeObject & { spec: { run: string } }>('taskplane.dev/v1alpha1', 'TaskCacheEntry', { labelSelector: 'taskplane.dev/config=cached' }, runNs.name)).items;
      const runOf = (id: string, day: string) =>
        synthRun(
          runNs.name,
          { name: 'cached', options: { day: Option.string({ default: 'mon' }) }, task: TaskTemplate.pod({ spec: podTask(['echo ${option.day}']) }), cache: { version: '1', maxAge: Duration.hours(1), maxEntries: 1 } },
          (c) => c.run(id, { materialization: Materialization.DEFERRED, options: { day } }),
        );
      for (const [id, day] of [['a', 'mon'], ['b', 'mon'], ['c', 'tue']] as const) {
        const { config, run } = runOf(id, day);
        await applyAsGitOps([config, run]);
        if (id !== 'b') {
          await waitUntil(`the task of ${run.metadata.name}`, () => client.get('v1', 'Pod', runNs.name, `${run.metadata.name}-0-0`));
          await finishPod(runNs.name, `${run.metadata.name}-0-0`, 'Succeeded');
        }
        const done = await waitForRun(client, runNs.name, run.metadata.name, 'Succeeded', (r) => r.status?.phase === 'Succeeded');
        expect(done.status!.tasks![0]!.status.reason === 'Cached', id).toBe(id === 'b');
        // maxEntries 1: tuesday's entry evicts monday's.
        await waitUntil(`${id}: one entry, from the run that last ran`, async () => ((await entries()).map((e) => e.spec.run).join() === (id === 'c' ? 'cached-c' : 'cached-a') ? true : undefined));
      }
    });

    it('held its Lease in its own namespace, and made no request the API server refused', async () => {
      const held = await client.get<KubeObject & { spec: { holderIdentity?: string } }>('coordination.k8s.io/v1', 'Lease', home, lease);
      expect(held.spec.holderIdentity).toBe(`rbac-test-${process.pid}`);
      expect(await refusedRequests(running.metrics)).toEqual([]);
      // Watches go through client-node, not the counted client: a refused one would show in the logs.
      expect(running.logs.filter(refusal)).toEqual([]);
    });
  });
});

describe('install that watches one namespace (watchNamespace)', () => {
  let runNs: TestNamespace;
  let other: TestNamespace;
  let home: string;
  let lease: string;
  let saConfig: KubeConfig;
  let deployment: KubeObject;
  let taskResources: TaskResource[];

  beforeAll(async () => {
    runNs = await createNamespace('tp-rbac-one');
    other = await createNamespace('tp-rbac-other');
    cleanups.push(() => runNs.delete(), () => other.delete());
    const installed = await install({ name: `taskplane-one-${suffix}`, namespace: `tp-one-${suffix}`, watchNamespace: runNs.name, crds: false, personas: false });
    ({ namespace: home, name: lease, taskResources } = installed);
    cleanups.push(() => deleteInstall(installed.objects));
    saConfig = await serviceAccountConfig(home, lease);
    deployment = installed.objects.find((o) => o.kind === 'Deployment')!;
  });

  it('the Deployment\'s own arguments start `taskplane watch` as the ServiceAccount: ready, leading, and it lets go on SIGTERM', async () => {
    const container = (deployment.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!;
    expect(container.args).toContain(`--namespace=${runNs.name}`);
    const port = await freePort();
    // As in the Pod, except that the API server and the probe port are this machine's.
    const args = container.args.map((a) => (a.startsWith('--metrics-address=') ? `--metrics-address=127.0.0.1:${port}` : a));
    const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'tp-rbac-')), 'kubeconfig');
    writeFileSync(kubeconfig, saConfig.exportConfig(), { mode: 0o600 });
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(process.execPath, ['bin/taskplane.mjs', ...args, `--kubeconfig=${kubeconfig}`, '--identity=cli-under-test'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanups.push(async () => void (child.exitCode === null && child.kill('SIGKILL')));
    const probe = (urlPath: string) =>
      new Promise<number>((resolve) => httpGet(`http://127.0.0.1:${port}${urlPath}`, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', () => resolve(0)));
    const holder = () => client.get<KubeObject & { spec: { holderIdentity?: string } }>('coordination.k8s.io/v1', 'Lease', home, lease).then((l) => l.spec.holderIdentity, () => undefined);
    try {
      await waitUntil('/readyz', async () => (await probe('/readyz')) === 200, 30_000);
      expect(await probe('/healthz')).toBe(200);
      await waitUntil('the Lease taken by the CLI', async () => (await holder()) === 'cli-under-test', 30_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await holder()).toBeUndefined();
    expect(output.split('\n').filter(refusal)).toEqual([]);
  });

  it('may act in the watched namespace only, with no cluster-wide access', async () => {
    const inWatched = needed(runNs.name, home, lease)
      .map(([access]) => access)
      .filter((a) => !['argoproj.io', 'tekton.dev'].includes(a.group ?? ''))
      .map((a) => (a.resource === 'leases' ? a : { ...a, namespace: a.namespace ?? runNs.name }));
    const refused: string[] = [];
    for (const access of inWatched) if (!(await allowed(saConfig, access))) refused.push(describeAccess(access));
    expect(refused).toEqual([]);

    const outside: Access[] = [
      { verb: 'list', group: 'taskplane.dev', resource: 'jobruns' },
      { verb: 'list', group: 'taskplane.dev', resource: 'jobruns', namespace: other.name },
      { verb: 'create', resource: 'pods', namespace: other.name },
      { verb: 'create', resource: 'events', namespace: other.name },
      { verb: 'list', resource: 'pods' },
      { verb: 'delete', resource: 'pods', namespace: runNs.name, name: 'any-task' },
    ];
    const permitted: string[] = [];
    for (const access of outside) if (await allowed(saConfig, access)) permitted.push(describeAccess(access));
    expect(permitted).toEqual([]);
  });

  it('is enough for the real watcher: a retry in the watched namespace, no refused request', async () => {
    const running = await startAs(saConfig, runNs.name, home, lease, taskResources);
    cleanups.push(() => running.watcher.stop());
    await retryScenario(runNs.name, 'scoped');
    expect(await refusedRequests(running.metrics)).toEqual([]);
    expect(running.logs.filter(refusal)).toEqual([]);
  });
});

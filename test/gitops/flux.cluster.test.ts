/**
 * taskplane under the real GitOps engine on real (simulated) nodes: Flux's source-controller and
 * kustomize-controller apply `dist/` from a Git repository on loopback, kube-scheduler binds the Pods,
 * KWOK's kwok runs them through the Stages in test/cluster/kwok-pod-stages.yaml, and the watcher does
 * its job in between. Nothing is applied or patched by the test itself except through Git.
 *
 * Own control plane (the shared one has no scheduler and no kubelet on purpose: other files play kubelet).
 */
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Chart, Duration } from 'cdk8s';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../apps/main.js';
import { JobConfig, TaskTemplate, type TaskplaneApp } from '../../constructs/index.js';
import { fluxHealthCheckExprs } from '../../engine/health/index.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeClient, KubeObject } from '../../watcher/kube/client.js';
import { readTree, tempOutdir } from '../_synth.js';
import { kubeConfig, waitUntil } from '../cluster/client.js';
import { condition, startFlux, type Flux } from '../cluster/flux.js';
import { startGitServer, type GitServer } from '../cluster/git-server.js';
import { startControlPlane, type ControlPlane } from '../cluster/harness.js';
import { kwokAnnotations, startNodes } from '../cluster/nodes.js';
import { getRun, listTasks, podTask, startWatcher, testClient, waitForRun } from '../watcher/helpers.js';

const NS = 'batch';
const fixture = (f: string) => readFileSync(fileURLToPath(new URL(`../cluster/fixtures/${f}`, import.meta.url)), 'utf8');

let cp: ControlPlane;
let flux: Flux;
let git: GitServer;
let watcher: Watcher;
let client: KubeClient;

/**
 * The repository's content: `dist/` as `apps/main.ts` synthesizes it, plus a chart `e2e` (JobConfig
 * `flaky`: a Pod task whose first attempt exits 3 on KWOK, then succeeds; one JobRun per name in `runs`),
 * a chart `doomed` (one run that fails), a chart `busy` (like `flaky`, for re-applies during the run),
 * and `crds/` with taskplane's CRDs and the third-party ones the example jobs use.
 */
function fleet(runs: string[], command?: string[]): Record<string, string> {
  const outdir = tempOutdir();
  const app: TaskplaneApp = buildApp({ outdir });
  const flaky = new JobConfig(new Chart(app, 'e2e', { namespace: NS }), 'flaky', {
    maxAttempts: 2,
    retryDelay: Duration.seconds(1),
    task: TaskTemplate.pod({
      metadata: { annotations: kwokAnnotations({ outcome: 'fail', attempts: [0], exitCode: 3, runTime: '6s' }) },
      spec: command ? { containers: podTask().containers.map((c) => ({ ...c, command })) } : podTask(),
    }),
  });
  for (const run of runs) flaky.run(run, {});
  // A run that fails: its only attempt exits 1 (chart `doomed`, a Kustomization of its own).
  new JobConfig(new Chart(app, 'doomed', { namespace: NS }), 'doomed', {
    task: TaskTemplate.pod({ metadata: { annotations: kwokAnnotations({ outcome: 'fail', runTime: '1s' }) }, spec: podTask() }),
  }).run('once', {});
  // Like `flaky`, in a Kustomization without health checks (`wait: false`), so that Flux can re-apply it mid-run.
  new JobConfig(new Chart(app, 'busy', { namespace: NS }), 'busy', {
    maxAttempts: 2,
    retryDelay: Duration.seconds(1),
    task: TaskTemplate.pod({ metadata: { annotations: kwokAnnotations({ outcome: 'fail', attempts: [0], runTime: '5s' }) }, spec: podTask() }),
  }).run('once', {});
  app.synth();
  const files: Record<string, string> = {};
  for (const [file, text] of readTree(outdir)) files[`dist/${file}`] = text;
  rmSync(outdir, { recursive: true, force: true });
  files['crds/taskplane.k8s.yaml'] = files['dist/taskplane.k8s.yaml']!;
  files['crds/argo-workflow-crd.yaml'] = fixture('argo-workflow-crd.yaml');
  files['crds/tekton-taskrun-crd.yaml'] = fixture('tekton-taskrun-crd.yaml');
  return files;
}

const source = { kind: 'GitRepository', name: 'fleet' };
// Reconciled on request (interval 1h) or 2 s after a failure; wait: true with taskplane's health expressions.
const e2eSpec = {
  interval: '1h', retryInterval: '2s', timeout: '1m', path: './dist/e2e', prune: true, wait: true,
  healthCheckExprs: fluxHealthCheckExprs(), dependsOn: [{ name: 'crds' }, { name: 'setup' }], sourceRef: source,
};
const observed: Record<string, string> = {};

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true, tether: true });
  await startNodes(cp);
  flux = await startFlux(cp);
  git = await startGitServer();
  const kc = kubeConfig(cp.kubeconfigPath);
  client = testClient(kc);
  // Namespace batch and the jobs' ServiceAccounts come from Git (dist/00-setup), like everything else.
}, 300_000);

let failed = false;
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
});
afterAll(async () => {
  await watcher?.stop();
  await git?.stop();
  await cp?.stop({ keepLogs: failed });
  if (failed) console.log(`flux tests failed: logs of every component kept in ${cp.dir}/logs`);
});

type Run = JobRunObject & KubeObject;
const pods = (run: string) => listTasks(client, NS, 'v1', 'Pod', run);

describe('Flux applies dist/, the watcher runs it on KWOK nodes', () => {
  let rev1: string;

  it('CRDs, the example jobs and a flaky run: applied, scheduled, run; the retry survives Flux; health follows the run', async () => {
    const files = fleet(['first']);
    rev1 = git.revision(git.commit(files, 'taskplane: first run'));
    await flux.gitRepository('fleet', git.url, '1h');
    await flux.kustomization('crds', { interval: '1h', path: './crds', prune: true, wait: true, sourceRef: source });
    // docs/gitops.md's layout: the setup (Namespaces, ServiceAccounts, RBAC) before the jobs.
    await flux.kustomization('setup', { interval: '1h', path: './dist/00-setup', prune: true, wait: true, sourceRef: source });
    await flux.kustomization('jobs', { interval: '1h', path: './dist/jobs', prune: true, wait: false, dependsOn: [{ name: 'crds' }, { name: 'setup' }], sourceRef: source });
    await flux.kustomization('e2e', e2eSpec);
    await flux.waitForKustomization('crds', { revision: rev1, ready: 'True' }, 120_000);
    // The watcher is installed once its CRDs are (in a cluster: a Kustomization that dependsOn them).
    watcher = await startWatcher({ kubeConfig: kubeConfig(cp.kubeconfigPath) });
    const reconcilesBefore = await flux.reconciles('e2e');

    // Sample the run, its Pods and the Kustomization until the run is done and Flux calls it Ready.
    const podUids = new Map<string, Set<string>>();
    const phases: string[] = [];
    const health: { ready?: string; reason?: string; runPhase?: string }[] = [];
    let done: Run | undefined;
    await waitUntil('flaky-first Succeeded and Kustomization e2e Ready at the first revision', async () => {
      const run = await getRun(client, NS, 'flaky-first').catch(() => undefined);
      if (run?.status?.phase && phases.at(-1) !== run.status.phase) phases.push(run.status.phase);
      for (const pod of await pods('flaky-first')) {
        podUids.set(pod.metadata.name, (podUids.get(pod.metadata.name) ?? new Set()).add(pod.metadata.uid!));
      }
      const ks = await flux.getKustomization('e2e');
      const ready = condition(ks, 'Ready');
      if (ks.status?.lastAttemptedRevision === rev1) health.push({ ready: ready?.status, reason: ready?.reason, runPhase: run?.status?.phase });
      if (run?.status?.phase === 'Succeeded' && ready?.status === 'True' && ks.status?.lastAppliedRevision === rev1) done = run;
      return done;
    }, 120_000);

    // The retry ran: attempt 0 failed with KWOK's exit code, attempt 1 (created by the watcher) succeeded.
    expect(done!.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['flaky-first-0-0', 0, 'Failed'],
      ['flaky-first-0-1', 1, 'Succeeded'],
    ]);
    // No Pod was ever re-created (one UID per name) and the phase never went back.
    expect([...podUids].map(([name, uids]) => [name, uids.size])).toEqual([['flaky-first-0-0', 1], ['flaky-first-0-1', 1]]);
    expect(phases.indexOf('Succeeded')).toBe(phases.length - 1);
    // Health followed the run: Progressing (Ready=Unknown) while it ran, Ready once it succeeded, never before.
    const whileRunning = health.filter((h) => h.runPhase !== 'Succeeded');
    expect(whileRunning.length).toBeGreaterThan(0);
    expect(whileRunning.every((h) => h.ready !== 'True')).toBe(true);
    expect(whileRunning.some((h) => h.ready === 'Unknown' && h.reason === 'Progressing')).toBe(true);
    observed.healthWhileRunning = [...new Set(whileRunning.map((h) => `${h.runPhase}: Ready=${h.ready} ${h.reason}`))].join(', ');
    observed.reconcilesDuringRun = String(await flux.reconciles('e2e') - reconcilesBefore);

    // The retry is the run's child, not in Flux's inventory; the first attempt is.
    const ks = await flux.getKustomization('e2e');
    const inventory = ks.status!.inventory!.entries.map((e) => e.id).sort();
    expect(inventory).toEqual([
      `${NS}_flaky-first_taskplane.dev_JobRun`,
      `${NS}_flaky-first-0-0__Pod`,
      `${NS}_flaky_taskplane.dev_JobConfig`,
    ].sort());
    const [first, retry] = await pods('flaky-first');
    expect(retry!.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'JobRun', name: 'flaky-first', uid: done!.metadata.uid })]);
    // Real scheduler, real node agent: bound to a KWOK node, container states as a kubelet writes them.
    for (const pod of [first!, retry!] as (KubeObject & { spec: { nodeName?: string }; status: { containerStatuses: { state: { terminated?: { exitCode: number; reason: string } } }[] } })[]) {
      expect(pod.spec.nodeName).toMatch(/^kwok-node-\d$/);
    }
    const terminated = (p: unknown) => (p as { status: { containerStatuses: { state: { terminated?: { exitCode: number; reason: string } } }[] } }).status.containerStatuses[0]!.state.terminated;
    expect(terminated(first)).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(terminated(retry)).toMatchObject({ exitCode: 0, reason: 'Completed' });

    // Five more reconciliations after the run: nothing Flux manages or the watcher made is written again.
    const snapshot = async () => {
      const objects = [await getRun(client, NS, 'flaky-first'), ...(await pods('flaky-first')), await client.get('taskplane.dev/v1alpha1', 'JobConfig', NS, 'flaky')];
      return objects.map((o) => `${o.kind}/${o.metadata.name} uid=${o.metadata.uid} rv=${o.metadata.resourceVersion}`);
    };
    const before = await snapshot();
    const statusBefore = (await getRun(client, NS, 'flaky-first')).status;
    const counted = await flux.reconciles('e2e');
    for (let i = 0; i < 5; i++) {
      await flux.reconcile('Kustomization', 'e2e');
      expect(condition(await flux.getKustomization('e2e'), 'Ready')).toMatchObject({ status: 'True' });
    }
    expect(await flux.reconciles('e2e') - counted).toBeGreaterThanOrEqual(5);
    expect(await snapshot()).toEqual(before);
    expect((await getRun(client, NS, 'flaky-first')).status).toEqual(statusBefore);
  }, 300_000);

  it('the example jobs from apps/main.ts: on an empty cluster, Flux applies them in one reconcile after the setup; Pod and batch Job runs finish on KWOK', async () => {
    // Flux dry-runs every object of its last apply stage before applying any, and a Pod's admission needs its
    // ServiceAccount: with the ServiceAccounts in dist/jobs the whole apply failed (serviceaccount not found),
    // on every retry. From dist/00-setup, applied by a Kustomization that `jobs` dependsOn, they exist first.
    for (const name of ['setup', 'jobs']) {
      const ks = await flux.waitForKustomization(name, { revision: rev1, ready: 'True' }, 120_000);
      expect({ name, history: ks.status!.history!.map((h) => [h.lastReconciledStatus, h.totalReconciliations]) })
        .toEqual({ name, history: [['ReconciliationSucceeded', 1]] });
    }
    const setupInventory = (await flux.getKustomization('setup')).status!.inventory!.entries.map((e) => e.id).sort();
    expect(setupInventory).toEqual([`_${NS}__Namespace`, `${NS}_database-backup__ServiceAccount`, `${NS}_release-build__ServiceAccount`]);
    const backup = await waitForRun(client, NS, 'database-backup-2026-11-21-full', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 120_000);
    expect(backup.status!.tasks!.map((t) => t.status.result)).toEqual(['Succeeded']);
    const exported = await waitForRun(client, NS, 'report-export-2026-10', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 120_000);
    expect(exported.status?.phase).toBe('Succeeded');
    // Each Job's Pods were created by the job controller, bound by the scheduler, completed by KWOK.
    const jobs = await listTasks(client, NS, 'batch/v1', 'Job', 'report-export-2026-10');
    expect(jobs.length).toBeGreaterThan(0);
    const complete = jobs.filter((j) => (j as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
    expect(complete.length).toBeGreaterThan(0);
    const jobPods = await client.list<KubeObject & { spec: { nodeName?: string }; status: { phase: string } }>('v1', 'Pod', { labelSelector: `batch.kubernetes.io/job-name=${complete[0]!.metadata.name}` }, NS);
    expect(jobPods.items.length).toBe(2);
    for (const pod of jobPods.items) {
      expect(pod.spec.nodeName).toMatch(/^kwok-node-\d$/);
      expect(pod.status.phase).toBe('Succeeded');
    }
  }, 300_000);

  it('a run added to Git starts without touching the old one; a run deleted from Git is pruned with its retries', async () => {
    const old = async () => [await getRun(client, NS, 'flaky-first'), ...(await pods('flaky-first'))].map((o) => `${o.metadata.name} ${o.metadata.uid} ${o.metadata.resourceVersion}`);
    const before = await old();
    const rev2 = git.revision(git.commit(fleet(['first', 'second']), 'taskplane: second run'));
    await flux.reconcile('GitRepository', 'fleet');
    await waitForRun(client, NS, 'flaky-second', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 120_000);
    await flux.waitForKustomization('e2e', { revision: rev2, ready: 'True' }, 120_000);
    expect(await old()).toEqual(before);

    const rev3 = git.revision(git.commit(fleet(['second']), 'taskplane: drop the first run'));
    await flux.reconcile('GitRepository', 'fleet');
    await flux.waitForKustomization('e2e', { revision: rev3, ready: 'True' }, 120_000);
    await waitUntil('the first run pruned', () => getRun(client, NS, 'flaky-first').then(() => false, (err) => err.status === 404), 60_000);
    // Flux pruned the first attempt (its inventory); the garbage collector removed the watcher's retry (owned by the run).
    await waitUntil('the first run\'s Pods gone', async () => (await pods('flaky-first')).length === 0, 60_000);
    expect((await pods('flaky-second')).map((p) => p.metadata.name)).toEqual(['flaky-second-0-0', 'flaky-second-0-1']);
    expect((await getRun(client, NS, 'flaky-second')).status?.phase).toBe('Succeeded');
  }, 300_000);

  it('an edited Rendered run: Flux cannot apply the immutable Pod and says so; with force it re-creates the Pod, and the run reports TemplateChanged', async () => {
    const second = await getRun(client, NS, 'flaky-second');
    const podsBefore = await pods('flaky-second');
    const firstAttempt = podsBefore[0];
    // The run's template and its first attempt change in Git: a new command line (a Pod's command is immutable).
    const edited = git.revision(git.commit(fleet(['second'], ['echo', 'edited']), 'taskplane: edit the second run'));
    await flux.reconcile('GitRepository', 'fleet');
    const refused = await flux.waitForKustomization('e2e', { revision: edited, ready: 'False' }, 120_000);
    const refusal = condition(refused, 'Ready')!;
    observed.refused = `${refusal.reason}: ${refusal.message}`;
    expect(refusal.reason).toBe('ReconciliationFailed');
    expect(refusal.message).toContain('flaky-second-0-0');
    // Flux's dry run failed before anything was applied: the run and its Pod are as they were.
    expect((await getRun(client, NS, 'flaky-second')).metadata.generation).toBe(second.metadata.generation);
    expect((await pods('flaky-second'))[0]!.metadata.uid).toBe(firstAttempt!.metadata.uid);

    // With force, Flux deletes and re-creates what it cannot patch.
    await flux.kustomization('e2e', { ...e2eSpec, force: true });
    await flux.reconcile('Kustomization', 'e2e');
    const forced = await flux.waitForKustomization('e2e', { revision: edited }, 120_000);
    observed.forced = JSON.stringify(condition(forced, 'Ready'));
    expect(condition(forced, 'Ready')).toMatchObject({ status: 'True', reason: 'ReconciliationSucceeded' });
    const run = await waitForRun(client, NS, 'flaky-second', 'TemplateChanged', (r) => r.status?.conditions?.some((c) => c.type === 'TemplateChanged' && c.status === 'True') ?? false, 60_000);
    expect(run.status!.phase).toBe('Succeeded');
    // Force re-created the first attempt (a new Pod of the same name, which KWOK runs again); the watcher's retry stays.
    const after = await waitUntil('the re-created first attempt finished', async () => {
      const list = await pods('flaky-second');
      return list.every((p) => ['Succeeded', 'Failed'].includes((p as { status?: { phase?: string } }).status?.phase ?? '')) ? list : undefined;
    }, 60_000);
    const uids = new Map(podsBefore.map((p) => [p.metadata.name, p.metadata.uid]));
    expect(after.map((p) => [p.metadata.name, uids.get(p.metadata.name) === p.metadata.uid ? 'same' : 're-created'])).toEqual([
      ['flaky-second-0-0', 're-created'],
      ['flaky-second-0-1', 'same'],
    ]);
    observed.forcedRun = JSON.stringify({ phase: run.status?.phase, tasks: run.status?.tasks?.map((t) => [t.name, t.retryIndex, t.status.result]) });
  }, 300_000);

  it('a run that fails: the Kustomization health check fails on the JobRun, not on its Pod', async () => {
    const head = (await flux.getKustomization('e2e')).status!.lastAppliedRevision!;
    await flux.kustomization('doomed', { ...e2eSpec, path: './dist/doomed', timeout: '2m' });
    const failed = await flux.waitForKustomization('doomed', { revision: head, ready: 'False' }, 120_000);
    const ready = condition(failed, 'Ready')!;
    observed.failedRun = `${ready.reason}: ${ready.message}`;
    expect(ready.reason).toBe('HealthCheckFailed');
    expect(ready.message).toContain('JobRun/batch/doomed-once');
    expect(ready.message).not.toContain('Pod/');
    expect((await getRun(client, NS, 'doomed-once')).status?.phase).toBe('Failed');
  }, 300_000);

  it('Flux re-applies a run five times while it runs and retries: nothing reverted, re-created or re-run', async () => {
    const head = (await flux.getKustomization('e2e')).status!.lastAppliedRevision!;
    await flux.kustomization('busy', { ...e2eSpec, path: './dist/busy', wait: false });
    await flux.waitForKustomization('busy', { revision: head, ready: 'True' }, 120_000);
    const counted = await flux.reconciles('busy');
    const podUids = new Map<string, Set<string>>();
    const phases: string[] = [];
    let duringRun = 0;
    for (;;) {
      const run = await getRun(client, NS, 'busy-once');
      if (run.status?.phase && phases.at(-1) !== run.status.phase) phases.push(run.status.phase);
      for (const pod of await pods('busy-once')) podUids.set(pod.metadata.name, (podUids.get(pod.metadata.name) ?? new Set()).add(pod.metadata.uid!));
      if (run.status?.phase === 'Succeeded') break;
      await flux.reconcile('Kustomization', 'busy');
      duringRun++;
    }
    observed.busyPhases = phases.join(' → ');
    expect(duringRun).toBeGreaterThanOrEqual(5);
    expect(await flux.reconciles('busy') - counted).toBeGreaterThanOrEqual(5);
    expect(phases.some((p) => p.startsWith('Retry'))).toBe(true); // RetryBackoff, then Retrying (a sample may miss one)
    expect(phases.indexOf('Succeeded')).toBe(phases.length - 1);
    expect([...podUids].map(([name, uids]) => [name, uids.size])).toEqual([['busy-once-0-0', 1], ['busy-once-0-1', 1]]);
    const done = await getRun(client, NS, 'busy-once');
    expect(done.status!.tasks!.map((t) => [t.name, t.status.result])).toEqual([['busy-once-0-0', 'Failed'], ['busy-once-0-1', 'Succeeded']]);
    console.log('Observed under real Flux:', observed);
  }, 300_000);
});

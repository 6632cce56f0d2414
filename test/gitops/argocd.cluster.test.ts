/**
 * taskplane under the real Argo CD: its application controller and repo server (argo-cd v3.5, "core"
 * shape, Redis on loopback) sync `dist/` from a Git repository on loopback with automated sync, prune
 * and self-heal, judging health with the argocd-cm the `GitOpsHealthChecks` construct emits; kube-scheduler
 * binds the Pods, KWOK runs them (test/cluster/kwok-pod-stages.yaml), the watcher retries in between.
 * Nothing is applied by the test itself except Argo CD's settings and Applications, and Git commits.
 *
 * Both tracking methods (one control plane and Argo CD each), and for each, one Application with
 * Argo CD's default diff and one with server-side diff (`compare-options: ServerSideDiff=true`).
 */
import { rmSync } from 'node:fs';
import { Chart, Duration } from 'cdk8s';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitOpsHealthChecks, JobConfig, TaskTemplate, TaskplaneApp, TaskplaneCrds } from '../../constructs/index.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeClient, KubeObject } from '../../watcher/kube/client.js';
import { readTree, tempOutdir } from '../_synth.js';
import { startArgoCd, CLUSTER_NAME, type ApplicationObject, type ArgoCd, type TrackingMethod } from '../cluster/argocd.js';
import { clients, kubeConfig, parseYaml, waitUntil } from '../cluster/client.js';
import { startGitServer, type GitServer } from '../cluster/git-server.js';
import { startControlPlane, type ControlPlane } from '../cluster/harness.js';
import { kwokAnnotations, startNodes } from '../cluster/nodes.js';
import { getRun, listTasks, podTask, startWatcher, testClient } from '../watcher/helpers.js';

/** Argo CD's default diff, and server-side diff: one Application (and namespace) each. */
const DIFFS = [
  { diff: 'default', annotations: {} },
  { diff: 'server-side', annotations: { 'argocd.argoproj.io/compare-options': 'ServerSideDiff=true' } },
] as const;
type Diff = (typeof DIFFS)[number]['diff'];
const ns = (diff: Diff) => `batch-${diff}`;

/**
 * The repository: `crds/` (taskplane's CRDs), `argocd/` (the construct's argocd-cm, applied by Argo CD's
 * admin), and per diff a chart `e2e-<diff>` (JobConfig `flaky`: a Pod task whose first attempt exits 3 on
 * KWOK after 8 s, then the retry succeeds after 8 s; one JobRun per name in `runs`) and `doomed-<diff>`
 * (a run whose only attempt fails).
 */
function fleet(runs: string[]): Record<string, string> {
  const outdir = tempOutdir();
  const app = new TaskplaneApp({ outdir });
  new TaskplaneCrds(new Chart(app, 'taskplane'), 'crds');
  for (const { diff } of DIFFS) {
    const flaky = new JobConfig(new Chart(app, `e2e-${diff}`, { namespace: ns(diff) }), 'flaky', {
      maxAttempts: 2,
      retryDelay: Duration.seconds(1),
      task: TaskTemplate.pod({ metadata: { annotations: kwokAnnotations({ outcome: 'fail', attempts: [0], exitCode: 3, runTime: '8s' }) }, spec: podTask() }),
    });
    for (const run of runs) flaky.run(run, {});
    new JobConfig(new Chart(app, `doomed-${diff}`, { namespace: ns(diff) }), 'doomed', {
      task: TaskTemplate.pod({ metadata: { annotations: kwokAnnotations({ outcome: 'fail', runTime: '1s' }) }, spec: podTask() }),
    }).run('once', {});
  }
  new GitOpsHealthChecks(new Chart(app, 'gitops'), 'health', { argoCd: {} });
  app.synth();
  const files: Record<string, string> = {};
  for (const [file, text] of readTree(outdir)) {
    // A chart with runs is a directory of its own (dist/e2e-default/...); the CRDs and argocd-cm go elsewhere.
    const dir = file === 'taskplane.k8s.yaml' ? 'crds/' : file === 'gitops.k8s.yaml' ? 'argocd/' : 'dist/';
    files[`${dir}${file}`] = text;
  }
  rmSync(outdir, { recursive: true, force: true });
  return files;
}

const automated = { automated: { prune: true, selfHeal: true } };

interface Sample {
  runPhase?: string;
  sync?: string;
  health?: string;
  operation?: string;
}

describe.each<{ tracking: TrackingMethod }>([{ tracking: 'annotation' }, { tracking: 'label' }])('Argo CD ($tracking tracking) syncs dist/, the watcher runs it on KWOK nodes', ({ tracking }) => {
  let cp: ControlPlane;
  let argo: ArgoCd;
  let git: GitServer;
  let watcher: Watcher;
  let client: KubeClient;
  const observed: Record<string, string> = {};
  // A chart's runs are files in subdirectories (e2e-default/flaky/runs/…): a directory source must recurse.
  const source = (path: string) => ({ repoURL: git.url, targetRevision: 'main', path, directory: { recurse: true } });
  const destination = (namespace?: string) => ({ name: CLUSTER_NAME, ...(namespace ? { namespace } : {}) });
  const pods = (diff: Diff, run: string) => listTasks(client, ns(diff), 'v1', 'Pod', run);

  beforeAll(async () => {
    const started = Date.now();
    cp = await startControlPlane({ controllerManager: true, tether: true });
    await startNodes(cp);
    const argoStarted = Date.now();
    argo = await startArgoCd(cp, { trackingMethod: tracking });
    observed.startup = `control plane + nodes ${argoStarted - started} ms, Argo CD (redis, repo server, controller) ${Date.now() - argoStarted} ms`;
    git = await startGitServer();
    const kc = kubeConfig(cp.kubeconfigPath);
    client = testClient(kc);
    for (const { diff } of DIFFS) await clients(kc).core.createNamespace({ body: { metadata: { name: ns(diff) } } });
    const files = fleet(['first']);
    git.commit(files, 'taskplane: first run');
    // The platform team's part: the health checks into argocd-cm (server-side apply, as the construct's file says), the CRDs.
    for (const object of parseYaml(files['argocd/gitops.k8s.yaml']!)) await argo.configure(object as KubeObject);
    await argo.application('crds', { project: 'default', source: source('crds'), destination: destination(), syncPolicy: automated });
    await waitForApp('crds', (app) => app.status?.sync?.status === 'Synced' && app.status.health?.status === 'Healthy' && app.status.operationState?.phase === 'Succeeded', 'Synced, Healthy');
    watcher = await startWatcher({ kubeConfig: kc });
    ready = true;
  }, 300_000);

  /**
   * Refreshes the Application until it passes `test` (status-only changes of live objects do not make Argo CD
   * compare again: it ignores them by default); a timeout says what it last looked like.
   */
  async function waitForApp(name: string, test: (app: ApplicationObject) => boolean, what: string, timeoutMs = 120_000): Promise<ApplicationObject> {
    let last: ApplicationObject | undefined;
    try {
      return await waitUntil(`Application ${name}: ${what}`, async () => {
        last = await argo.refresh(name);
        return test(last) ? last : undefined;
      }, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status ?? null).slice(0, 3000)}`);
    }
  }

  let ready = false;
  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });
  afterAll(async () => {
    console.log(`Observed under real Argo CD (${tracking} tracking):`, observed);
    await watcher?.stop();
    await git?.stop();
    await cp?.stop({ keepLogs: failed || !ready });
    if (failed || !ready) console.log(`Argo CD tests failed: logs of every component kept in ${cp.dir}/logs`);
  });

  const sample = (app: ApplicationObject, run: JobRunObject | undefined): Sample => ({
    runPhase: run?.status?.phase, sync: app.status?.sync?.status, health: app.status?.health?.status, operation: app.status?.operationState?.phase,
  });

  it.each(DIFFS)('$diff diff: synced, retried by the watcher, refreshed and synced throughout; stays Synced, nothing pruned or re-run; health follows the run', async ({ diff, annotations }) => {
    const name = `e2e-${diff}`;
    await argo.application(name, { project: 'default', source: source(`dist/e2e-${diff}`), destination: destination(ns(diff)), syncPolicy: automated }, annotations);
    const podUids = new Map<string, Set<string>>();
    const samples: Sample[] = [];
    const record = async () => {
      const run = await getRun(client, ns(diff), 'flaky-first').catch(() => undefined);
      for (const pod of await pods(diff, 'flaky-first')) podUids.set(pod.metadata.name, (podUids.get(pod.metadata.name) ?? new Set()).add(pod.metadata.uid!));
      return run;
    };
    // Settled: right after creating the objects, Argo CD may auto-sync once more on a comparison made before
    // its cache saw them ("Partial sync operation ... succeeded"); the samples start after that.
    await waitForApp(name, (app) => !app.operation && app.status?.operationState?.phase === 'Succeeded' && app.status.sync?.status === 'Synced', 'the first sync applied the run, no operation running');

    // While the run runs and retries: refresh, then sync, again and again (what `argocd app get --refresh`, `argocd app sync` do).
    let duringRun = 0;
    for (;;) {
      const run = await record();
      if (run?.status?.phase === 'Succeeded') break;
      // The run is read after Argo CD answered: a run not Succeeded then was not Succeeded when Argo CD compared.
      samples.push(sample(await argo.refresh(name), await record()));
      samples.push(sample(await argo.sync(name), await record()));
      duringRun++;
      if (duringRun > 200) throw new Error(`flaky-first did not succeed: ${JSON.stringify(run?.status)}`);
    }
    // Argo CD's own health assessment catches up with the finished run on its next refresh.
    const done = await waitUntil(`${name} Healthy`, async () => {
      const app = await argo.refresh(name);
      samples.push(sample(app, await record()));
      return app.status?.health?.status === 'Healthy' ? app : undefined;
    }, 120_000);
    const run = (await record())!;
    expect(run.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['flaky-first-0-0', 0, 'Failed'],
      ['flaky-first-0-1', 1, 'Succeeded'],
    ]);

    // Five more refreshes and syncs after the run: nothing Argo CD manages or the watcher made is written again.
    const snapshot = async () => [await getRun(client, ns(diff), 'flaky-first'), ...(await pods(diff, 'flaky-first')), await client.get('taskplane.dev/v1alpha1', 'JobConfig', ns(diff), 'flaky')]
      .map((o) => `${o.kind}/${o.metadata.name} uid=${o.metadata.uid} rv=${o.metadata.resourceVersion}`);
    const before = await snapshot();
    const syncsBefore = await argo.syncs(name);
    for (let i = 0; i < 5; i++) {
      samples.push(sample(await argo.refresh(name, i % 2 ? 'hard' : 'normal'), await record()));
      samples.push(sample(await argo.sync(name), await record()));
    }
    expect(await argo.syncs(name) - syncsBefore).toBeGreaterThanOrEqual(5);
    expect(await snapshot()).toEqual(before);
    observed[`${diff}: refresh+sync rounds during the run`] = String(duringRun);
    const managers = (run.metadata as { managedFields?: { manager: string; operation: string; subresource?: string }[] }).managedFields ?? [];
    observed[`${diff}: JobRun field managers`] = managers.map((m) => `${m.manager} ${m.operation}${m.subresource ? ` ${m.subresource}` : ''}`).join(', ');
    observed[`${diff}: samples`] = [...new Set(samples.map((s) => `${s.runPhase}: ${s.sync}/${s.health}/${s.operation}`))].join(', ');

    expect(duringRun).toBeGreaterThanOrEqual(1);
    // Stays Synced: the watcher's writes (status, the retry Pod) never make Argo CD see a difference; every sync succeeds.
    expect(samples.filter((s) => s.sync !== 'Synced')).toEqual([]);
    expect(samples.filter((s) => s.operation !== 'Succeeded')).toEqual([]);
    // Health follows the run: never Degraded (the failed first attempt is ignored), Healthy only once it succeeded.
    expect(samples.filter((s) => s.health === 'Degraded')).toEqual([]);
    expect(samples.filter((s) => s.runPhase !== 'Succeeded').every((s) => s.health === 'Progressing')).toBe(true);
    expect(samples.some((s) => s.runPhase !== 'Succeeded' && s.health === 'Progressing')).toBe(true);
    expect(done.status!.health!.status).toBe('Healthy');
    // Nothing pruned, re-created or re-run: one UID per Pod name, the two attempts.
    expect([...podUids].map(([pod, uids]) => [pod, uids.size])).toEqual([['flaky-first-0-0', 1], ['flaky-first-0-1', 1]]);

    // Argo CD manages what Git holds (the retry is not among its resources, nothing to prune) ...
    const managed = (done.status!.resources ?? []).map((r) => `${r.kind}/${r.name}${r.requiresPruning ? ' (prune)' : ''}`).sort();
    expect(managed).toEqual(['JobConfig/flaky', 'JobRun/flaky-first', 'Pod/flaky-first-0-0']);
    // ... and shows the watcher's retry as a child of its JobRun in the resource tree.
    const tree = await argo.resourceTree(name);
    const retry = tree.find((n) => n.kind === 'Pod' && n.name === 'flaky-first-0-1');
    observed[`${diff}: tree`] = tree.map((n) => `${n.kind}/${n.name}${n.parentRefs ? ` <- ${n.parentRefs.map((p) => `${p.kind}/${p.name}`).join(',')}` : ''}`).join('; ');
    expect(retry?.parentRefs).toEqual([expect.objectContaining({ kind: 'JobRun', name: 'flaky-first', uid: run.metadata.uid })]);
  }, 300_000);

  it.each(DIFFS)('$diff diff: a run that fails makes the Application Degraded, on the JobRun', async ({ diff, annotations }) => {
    const name = `doomed-${diff}`;
    await argo.application(name, { project: 'default', source: source(`dist/doomed-${diff}`), destination: destination(ns(diff)), syncPolicy: automated }, annotations);
    const app = await waitForApp(name, (got) => got.status?.health?.status === 'Degraded', 'Degraded');
    expect((await getRun(client, ns(diff), 'doomed-once')).status?.phase).toBe('Failed');
    expect(app.status!.sync!.status).toBe('Synced');
    // Degraded on the JobRun; its failed Pod is in the tree but not counted (ignore-healthcheck).
    const tree = await argo.resourceTree(name);
    const health = tree.filter((n) => n.health?.status).map((n) => `${n.kind}/${n.name}: ${n.health!.status}`).sort();
    observed[`${diff}: failed run`] = `${app.status!.health!.status} (${app.status!.health!.message ?? ''}); tree: ${health.join(', ')}`;
    expect(health).toContain('JobRun/doomed-once: Degraded');
  }, 300_000);

  it('a run removed from Git is pruned with its retries', async () => {
    git.commit(fleet([]), 'taskplane: drop the first run');
    for (const { diff } of DIFFS) {
      const name = `e2e-${diff}`;
      await waitUntil(`${name}: the first run pruned`, async () => {
        await argo.refresh(name);
        return getRun(client, ns(diff), 'flaky-first').then(() => false, (err) => err.status === 404);
      }, 120_000);
      // Argo CD pruned the first attempt (tracked); the garbage collector removed the watcher's retry (owned by the run).
      await waitUntil(`${name}: the first run's Pods gone`, async () => (await pods(diff, 'flaky-first')).length === 0, 60_000);
      const app = await argo.refresh(name);
      expect(app.status?.sync?.status).toBe('Synced');
      expect((app.status?.resources ?? []).map((r) => `${r.kind}/${r.name}`)).toEqual(['JobConfig/flaky']);
    }
  }, 300_000);
});

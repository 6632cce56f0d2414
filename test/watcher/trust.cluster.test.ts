/**
 * Issue 9, part 2, on the real control plane: a JobRun author gets no more than the JobConfig author
 * granted, whatever the watcher's own credentials allow (DESIGN §7.1, docs/security.md).
 *
 * The job user is a ServiceAccount bound (RoleBinding, in the run namespace only) to the install's
 * `runner` persona and authenticated with a TokenRequest token: it may create and patch JobRuns, and
 * is refused Pods and JobConfigs by the API server. The watcher runs in-process, first with its own
 * ServiceAccount's token and the allowlist its Deployment passes (`--task-resources`), then with
 * cluster-admin credentials and an allowlist that wrongly names Secrets and RBAC kinds. Each attack
 * of the issue must end in AdmissionError with the reason in the status and a Warning event, and
 * nothing may be created; legitimate runs in between prove the refusals are not a broken watcher.
 */
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareRun } from '../../cli/run.js';
import {
  CustomResourceManifest, Materialization, Option, TaskplanePersonas, TaskTemplate, WatcherExecutor, type JobConfigProps, type OptionDefinitions,
} from '../../constructs/index.js';
import type { JobConfigObject, JobRunObject } from '../../engine/schema/resources.js';
import { BUILT_IN_TASK_RESOURCES, type TaskResource } from '../../engine/task-kinds.js';
import { Watcher } from '../../watcher/controller.js';
import { ApiError, KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { createMetrics, type WatcherMetrics } from '../../watcher/metrics.js';
import { createNamespace, finishPod, kubeConfig, waitUntil, type TestNamespace } from '../cluster/client.js';
import { applyAsGitOps, events, getRun, podTask, synthRun, testClient, waitForRun } from './helpers.js';
import { install, serviceAccountConfig, type Installed } from './identities.js';

const admin = testClient();
const suffix = randomBytes(3).toString('hex');
/** The personas' ClusterRoles get a prefix of their own: ClusterRole names are cluster-wide. */
const prefix = `tp-trust-${suffix}`;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const statusOf = (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e instanceof ApiError ? e.status : -1));
const absent = (p: Promise<unknown>) => p.then(() => false, (e: unknown) => e instanceof ApiError && e.status === 404);

function startWatcher(kc: KubeConfig, namespace: string, taskResources: readonly TaskResource[]): { watcher: Watcher; metrics: WatcherMetrics } {
  const metrics = createMetrics();
  const watcher = new Watcher({ kubeConfig: kc, logger: pino({ level: 'silent' }), metrics, namespace, taskResources });
  return { watcher, metrics };
}

/** The platform team's JobConfig, synthesized and applied as Argo CD would; returns it as the cluster has it. */
async function defineJob<O extends OptionDefinitions>(namespace: string, props: JobConfigProps<O>): Promise<JobConfigObject & KubeObject> {
  const { config } = synthRun(namespace, props, (c) => c.run('unused', { materialization: Materialization.DEFERRED } as never));
  await applyAsGitOps([config]);
  return admin.get('taskplane.dev/v1alpha1', 'JobConfig', namespace, props.name!);
}

/** A run as `taskplane run` builds it from the live config, then changed by `tamper` the way its author could. */
function runOf(config: JobConfigObject, name: string, tamper: (run: any) => void = () => {}): JobRunObject & KubeObject {
  const run = structuredClone(prepareRun(config, { output: 'table', name }, new Date())) as any;
  tamper(run);
  return run;
}

/** The privileged Pod of the issue: host filesystem, network and PIDs, another ServiceAccount's token. */
const privilegedPod = (run: any) => {
  run.spec.template.taskTemplate.pod.spec = {
    hostNetwork: true,
    hostPID: true,
    serviceAccountName: 'default',
    automountServiceAccountToken: true,
    containers: [{ name: 'main', image: 'busybox:1.36', securityContext: { privileged: true }, volumeMounts: [{ name: 'host', mountPath: '/host' }] }],
    volumes: [{ name: 'host', hostPath: { path: '/' } }],
  };
};

/** AdmissionError with this reason in status (message included) and one Warning event with the same reason; returns the run. */
async function expectRefused(namespace: string, name: string, reason: string, message: RegExp, recordedTasks: string[] = []): Promise<JobRunObject> {
  const run = await waitForRun(admin, namespace, name, 'AdmissionError', (r) => r.status?.phase === 'AdmissionError', 60_000);
  expect(run.status).toMatchObject({ phase: 'AdmissionError', result: 'AdmissionError', reason });
  expect(run.status?.message).toMatch(message);
  expect((run.status?.tasks ?? []).map((t) => t.name)).toEqual(recordedTasks);
  const warnings = await waitUntil(`the ${reason} event of ${name}`, async () => {
    const found = (await events(admin, namespace, name)).filter((e) => e.reason === reason);
    return found.length ? found : undefined;
  });
  expect(warnings).toEqual([{ type: 'Warning', reason, message: run.status!.message }]);
  return run;
}

async function tasksOf(namespace: string, apiVersion: string, kind: string, run: string): Promise<string[]> {
  return (await admin.list(apiVersion, kind, { labelSelector: `taskplane.dev/run=${run}` }, namespace)).items.map((o) => o.metadata.name);
}

describe('with the RBAC WatcherInstall ships: a job user acting through the watcher', () => {
  let ns: TestNamespace;
  let installed: Installed;
  let user: KubeClient;
  let running: ReturnType<typeof startWatcher>;
  let backup: JobConfigObject & KubeObject;

  beforeAll(async () => {
    ns = await createNamespace('tp-trust');
    cleanups.push(() => ns.delete());
    installed = await install(
      { name: `tp-trust-${suffix}`, namespace: `tp-trust-sys-${suffix}`, executors: [WatcherExecutor.pods()], personas: false },
      (chart) => new TaskplanePersonas(chart, 'Personas', { prefix }),
    );
    cleanups.push(async () => {
      for (const o of installed.objects) if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) await admin.delete(o).catch(() => undefined);
    });
    // The job user: the runner persona in this namespace only.
    await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'job-user', namespace: ns.name } });
    await admin.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'job-user-runs', namespace: ns.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${prefix}-runner` },
      subjects: [{ kind: 'ServiceAccount', name: 'job-user', namespace: ns.name }],
    });
    // kube-controller-manager's aggregation controller fills the persona from the labelled rules.
    await waitUntil('the runner persona aggregated', async () => {
      const role = await admin.get<KubeObject & { rules?: unknown[] }>('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, `${prefix}-runner`);
      return (role.rules ?? []).length >= 2;
    });
    user = new KubeClient(await serviceAccountConfig(ns.name, 'job-user'), 'kubectl');

    backup = await defineJob(ns.name, {
      name: 'backup',
      maxAttempts: 2,
      options: { db: Option.select({ values: ['orders', 'billing'], default: 'orders' }) },
      task: TaskTemplate.pod({ spec: podTask(['backup --db=${option.db}']) }),
    });
    running = startWatcher(await serviceAccountConfig(installed.namespace, installed.name), ns.name, installed.taskResources);
    await running.watcher.start();
    cleanups.push(() => running.watcher.stop());
  });

  it('the runner persona: may start and kill runs; the API server refuses it Pods and JobConfigs', async () => {
    expect(await statusOf(user.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'direct', namespace: ns.name }, spec: podTask() }))).toBe(403);
    const ownJob = { ...backup, metadata: { name: 'mine', namespace: ns.name } };
    expect(await statusOf(user.create(ownJob as KubeObject))).toBe(403);
    expect(await statusOf(user.mergePatch(backup, { spec: { allowCustomTemplates: true } }))).toBe(403);
    expect(await statusOf(user.delete(backup))).toBe(403);

    // A legitimate run goes through, started by the watcher as its own ServiceAccount.
    await user.create(runOf(backup, 'backup-ok'));
    await waitUntil('the watcher-created Pod', () => admin.get('v1', 'Pod', ns.name, 'backup-ok-0-0'));
    await expect(user.mergePatch(await getRun(admin, ns.name, 'backup-ok'), { spec: { killTimestamp: new Date().toISOString() } })).resolves.toBeDefined();
  });

  it('a privileged Pod with hostPath / in the run\'s own template is refused: AdmissionError, a Warning event, no Pod', async () => {
    await user.create(runOf(backup, 'backup-evil', privilegedPod));
    await expectRefused(ns.name, 'backup-evil', 'TemplateNotAllowed', /^spec\.template \(hash \w+\) is not the template of JobConfig backup \(hash \w+\), and the JobConfig does not allow custom templates/);
    expect(await tasksOf(ns.name, 'v1', 'Pod', 'backup-evil')).toEqual([]);
    expect(await absent(admin.get('v1', 'Pod', ns.name, 'backup-evil-0-0'))).toBe(true);
  });

  it('a started run whose template is edited afterwards gets no retry from the edited template', async () => {
    await user.create(runOf(backup, 'backup-late'));
    await waitUntil('attempt 0', () => admin.get('v1', 'Pod', ns.name, 'backup-late-0-0'));
    await waitForRun(admin, ns.name, 'backup-late', 'started', (r) => r.status?.templateHash !== undefined);
    const live = await getRun(admin, ns.name, 'backup-late');
    const edited = structuredClone(live) as any;
    privilegedPod(edited);
    await user.mergePatch(live, { spec: { template: edited.spec.template } });
    await finishPod(ns.name, 'backup-late-0-0', 'Failed');
    await expectRefused(ns.name, 'backup-late', 'TemplateNotAllowed', /is not the template of JobConfig backup/, ['backup-late-0-0']);
    expect(await tasksOf(ns.name, 'v1', 'Pod', 'backup-late')).toEqual(['backup-late-0-0']);
  });

  it('a forged option substitution is refused, and its value appears in neither status nor event', async () => {
    await user.create(runOf(backup, 'backup-forged', (r) => (r.spec.substitutions['option.db'] = 'orders; cat /var/run/secrets/token')));
    const refused = await expectRefused(ns.name, 'backup-forged', 'OptionsNotAllowed', /^spec\.substitutions "option\.db" differ from what JobConfig backup gives/);
    expect(JSON.stringify([refused.status, await events(admin, ns.name, 'backup-forged')])).not.toContain('cat /var/run');
    expect(await tasksOf(ns.name, 'v1', 'Pod', 'backup-forged')).toEqual([]);
  });

  it('a run whose JobConfig does not exist waits for it, then is refused', async () => {
    await user.create(runOf(backup, 'ghost-r1', (r) => {
      r.spec.configName = 'ghost';
      r.metadata.labels['taskplane.dev/config'] = 'ghost';
    }));
    await waitForRun(admin, ns.name, 'ghost-r1', 'waiting for its config', (r) => r.status?.reason === 'WaitingForConfig');
    // The grace is 30 s from the run's creation (engine/run/admission.ts).
    await expectRefused(ns.name, 'ghost-r1', 'ConfigNotFound', /^JobConfig ghost does not exist in namespace tp-trust-\w+; a run must reference a JobConfig of its own namespace$/);
    expect(await tasksOf(ns.name, 'v1', 'Pod', 'ghost-r1')).toEqual([]);
  });

  it('a run applied before its JobConfig starts once the config appears', async () => {
    const { config } = synthRun(ns.name, { name: 'later', task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('unused', {}));
    await user.create(runOf(config as unknown as JobConfigObject, 'later-r1'));
    await waitForRun(admin, ns.name, 'later-r1', 'waiting for its config', (r) => r.status?.reason === 'WaitingForConfig');
    await applyAsGitOps([config]);
    await waitUntil('the Pod of the admitted run', () => admin.get('v1', 'Pod', ns.name, 'later-r1-0-0'));
  });

  it('no false refusal when a sync applies runs and their configs together, in either order (20 pairs, runs first in half)', async () => {
    const PAIRS = 20;
    const pairs = Array.from({ length: PAIRS }, (_, i) =>
      synthRun(ns.name, { name: `pair-${i}`, task: TaskTemplate.pod({ spec: podTask() }) }, (c) => c.run('r1', { materialization: Materialization.DEFERRED })),
    );
    // The cache may see a run before its config (or not yet see a config the API server has): neither may refuse it.
    await applyAsGitOps(pairs.flatMap(({ config, run }, i) => (i % 2 === 0 ? [run, config] : [config, run])));
    for (let i = 0; i < PAIRS; i++) await waitUntil(`the Pod of pair-${i}-r1`, () => admin.get('v1', 'Pod', ns.name, `pair-${i}-r1-0-0`), 60_000);
    const phases = await Promise.all(pairs.map((_, i) => getRun(admin, ns.name, `pair-${i}-r1`).then((r) => r.status?.phase)));
    expect(phases.filter((phase) => phase === 'AdmissionError')).toEqual([]);
  });

  it('a kind the install was not made for (a batch Job; the install allows Pods only) is refused, and nothing is created', async () => {
    const { config, run } = synthRun(ns.name, { name: 'export', task: TaskTemplate.job({ spec: { template: { spec: { ...podTask(), restartPolicy: 'Never' } } } }) }, (c) =>
      c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
    await expectRefused(ns.name, 'export-r1', 'TaskKindNotAllowed', /^the watcher was not installed for Job \(jobs\.batch, batch\/v1\); it may create pods/);
    expect(await tasksOf(ns.name, 'batch/v1', 'Job', 'export-r1')).toEqual([]);
  });

  it('the watcher itself made no request the API server refused (what it refused, it refused on its own)', async () => {
    const refused = (await running.metrics.apiRequests.get()).values.filter((v) => ['401', '403'].includes(String(v.labels.code)) && v.value > 0);
    expect(refused).toEqual([]);
  });
});

describe('with cluster-admin credentials and an allowlist that wrongly names credential kinds', () => {
  let ns: TestNamespace;
  let running: ReturnType<typeof startWatcher>;

  beforeAll(async () => {
    ns = await createNamespace('tp-trust-admin');
    cleanups.push(() => ns.delete());
    // What docs/watcher.md once suggested for a laptop, plus a misconfiguration: the never-list must still hold.
    const everything = [
      ...BUILT_IN_TASK_RESOURCES,
      { group: '', resource: 'secrets' },
      { group: '', resource: 'serviceaccounts' },
      { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { group: 'rbac.authorization.k8s.io', resource: 'rolebindings' },
      { group: '', resource: 'configmaps' },
      { group: '', resource: 'namespaces' },
    ];
    running = startWatcher(kubeConfig(), ns.name, everything);
    await running.watcher.start();
    cleanups.push(() => running.watcher.stop());
  });

  const customTask = (manifest: Record<string, unknown>) =>
    TaskTemplate.customResource({ manifest: CustomResourceManifest.fromObject(manifest), successCondition: 'true', failureCondition: 'false' });

  it.each([
    ['leak', { apiVersion: 'v1', kind: 'Secret', stringData: { token: 'x' } }, 'v1', 'Secret', /^the watcher never creates Secret \(secrets, v1\): secrets carry credentials/],
    [
      'escalate',
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
      },
      'rbac.authorization.k8s.io/v1',
      'ClusterRoleBinding',
      /^the watcher never creates ClusterRoleBinding \(clusterrolebindings\.rbac\.authorization\.k8s\.io, rbac\.authorization\.k8s\.io\/v1\): objects of rbac\.authorization\.k8s\.io grant identities or rights/,
    ],
    ['bind', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [] }, 'rbac.authorization.k8s.io/v1', 'RoleBinding', /^the watcher never creates RoleBinding/],
    ['identity', { apiVersion: 'v1', kind: 'ServiceAccount' }, 'v1', 'ServiceAccount', /^the watcher never creates ServiceAccount/],
  ])('a customResource task creating a %s object is refused: AdmissionError, a Warning event, nothing created', async (name, manifest, apiVersion, kind, message) => {
    const { config, run } = synthRun(ns.name, { name, task: customTask(manifest) }, (c) => c.run('r1', { materialization: Materialization.DEFERRED }));
    await applyAsGitOps([config, run]);
    await expectRefused(ns.name, `${name}-r1`, 'TaskKindNotAllowed', message);
    const namespace = kind === 'ClusterRoleBinding' ? undefined : ns.name;
    expect(await absent(admin.get(apiVersion, kind, namespace, `${name}-r1-0-0`))).toBe(true);
    if (namespace) expect(await tasksOf(ns.name, apiVersion, kind, `${name}-r1`)).toEqual([]);
  });

  it('a cluster-scoped kind is refused even when listed, and an allowed namespaced kind still works (the control)', async () => {
    const { config, run } = synthRun(ns.name, { name: 'settings', task: customTask({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: 'b' } }) }, (c) =>
      c.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
    await waitUntil('the allowed ConfigMap task', () => admin.get('v1', 'ConfigMap', ns.name, 'settings-r1-0-0'));

    const ns2 = { apiVersion: 'v1', kind: 'Namespace', metadata: { labels: { a: 'b' } } };
    const cluster = synthRun(ns.name, { name: 'land', task: customTask(ns2) }, (c) => c.run('r1', { materialization: Materialization.DEFERRED }));
    await applyAsGitOps([cluster.config, cluster.run]);
    await expectRefused(ns.name, 'land-r1', 'TaskKindNotAllowed', /^the watcher creates only namespaced objects, in the run's namespace; Namespace \(namespaces, v1\) is cluster-scoped$/);
    expect(await absent(admin.get('v1', 'Namespace', undefined, 'land-r1-0-0'))).toBe(true);
  });
});

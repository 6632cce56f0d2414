/**
 * `npm run demo`: the whole loop on this machine. Starts a real control plane (etcd, kube-apiserver,
 * kube-controller-manager on 127.0.0.1), synthesizes apps/main.ts, applies it server-side as Argo CD
 * does, runs the watcher, plays kubelet, Argo Workflows and Tekton for a few tasks, and shows
 * `taskplane status` as a person sees it. Everything it started is stopped at the end.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { buildApp } from '../apps/main.js';
import { status } from '../cli/status.js';
import { ManualClock } from '../watcher/clock.js';
import { parseTaskResources } from '../engine/task-kinds.js';
import { Watcher } from '../watcher/controller.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { createMetrics } from '../watcher/metrics.js';
import { startControlPlane } from '../test/cluster/harness.js';
import { finishedStatus, runningStatus } from '../test/cluster/kubelet.js';
import { readTree } from '../test/_synth.js';

const NAMESPACE = 'batch';
// The watcher's clock runs at real speed until the end, when it jumps to the backup schedule's next time.
const watcherClock = new ManualClock(new Date(), { realSpeed: true });
const say = (text: string) => process.stdout.write(`\n==> ${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const documents = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter(Boolean);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function main(): Promise<void> {
  say('Starting a control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager)');
  const started = Date.now();
  const cp = await startControlPlane({ controllerManager: true, tether: true });
  let watcher: Watcher | undefined;
  try {
    console.log(`    ready at ${cp.server} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const argo = new KubeClient(kc, 'argocd-controller');
    const kubelet = new KubeClient(kc, 'kubelet');

    say('Synthesizing apps/main.ts (what `npm run synth` writes to dist/)');
    const outdir = mkdtempSync(join(tmpdir(), 'taskplane-demo-'));
    const app = buildApp({ outdir });
    app.synth();
    const files = readTree(outdir);
    for (const file of files.keys()) console.log(`    dist/${file}`);

    say('Applying it server-side, as Argo CD does (field manager argocd-controller)');
    const crds = [
      ...documents(files.get('taskplane.k8s.yaml')!),
      // Argo Workflows and Tekton are not installed here: their CRDs (minimal) stand in for them.
      ...documents(readFileSync('test/cluster/fixtures/argo-workflow-crd.yaml', 'utf8')),
      ...documents(readFileSync('test/cluster/fixtures/tekton-taskrun-crd.yaml', 'utf8')),
    ];
    for (const crd of crds) await argo.apply(crd);
    for (const crd of crds) {
      const { group, versions, names } = crd.spec as { group: string; versions: { name: string }[]; names: { kind: string } };
      await until(`${names.kind} to be served`, () => argo.path(`${group}/${versions[0]!.name}`, names.kind));
    }
    await argo.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await until('the default ServiceAccount', () => argo.get('v1', 'ServiceAccount', NAMESPACE, 'default'));
    const objects = [...files].filter(([file]) => file.endsWith('.k8s.yaml') && file !== 'taskplane.k8s.yaml').flatMap(([, text]) => documents(text));
    for (const object of objects) await argo.apply(object);
    console.log(`    ${objects.length} objects applied`);

    say('Starting the watcher');
    // Allowed the kinds its install allows (the Deployment's --task-resources), as in the cluster.
    const args = objects.flatMap((o) => (o.kind === 'Deployment' ? (o as { spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } } }).spec?.template?.spec?.containers?.[0]?.args ?? [] : []));
    const taskResources = parseTaskResources(args.find((a) => a.startsWith('--task-resources='))!.split('=')[1]!).resources;
    watcher = new Watcher({ kubeConfig: kc, logger: pino({ level: 'silent' }), metrics: createMetrics(), namespace: NAMESPACE, taskResources, clock: watcherClock });
    await watcher.start();

    say('Playing kubelet, Argo Workflows and Tekton for some tasks');
    const pod = (name: string) => until(`Pod ${name}`, () => kubelet.get<KubeObject & { spec: object; status?: object }>('v1', 'Pod', NAMESPACE, name));
    const setPod = async (name: string, status: (p: never) => object) => {
      const p = await pod(name);
      await kubelet.mergePatch(p, { status: status(p as never) }, 'status');
    };
    // The nightly backup: the first attempt fails; its retry waits out the 5-minute retry delay.
    await setPod('database-backup-2026-11-21-full-0-0', (p) => runningStatus(p));
    await setPod('database-backup-2026-11-21-full-0-0', (p) => finishedStatus(p, 'Failed', 3));
    await setPod('database-backup-2026-11-22-0-0', (p) => finishedStatus(p, 'Succeeded'));
    // The release build: five cells succeed, windows/arm64 fails once and is retried.
    for (const goos of ['linux', 'darwin', 'windows']) {
      for (const goarch of ['amd64', 'arm64']) {
        const name = `release-build-v2-4-0-${goarch}-${goos}-0`;
        const workflow = await until(name, () => argo.get('argoproj.io/v1alpha1', 'Workflow', NAMESPACE, name));
        const phase = goos === 'windows' && goarch === 'arm64' ? 'Failed' : 'Succeeded';
        const now = new Date().toISOString();
        await argo.mergePatch(workflow, { status: { phase, startedAt: now, finishedAt: now, ...(phase === 'Failed' && { message: 'child "build" failed' }) } });
      }
    }
    // The image scan: api and web pass, worker is still scanning.
    for (const [service, outcome] of [['api', 'True'], ['web', 'True'], ['worker', 'Unknown']] as const) {
      const name = `image-scan-2026-11-21-${service}-0`;
      const taskRun = await until(name, () => argo.get('tekton.dev/v1', 'TaskRun', NAMESPACE, name));
      await argo.mergePatch(taskRun, { status: { startTime: new Date().toISOString(), conditions: [{ type: 'Succeeded', status: outcome, reason: outcome === 'True' ? 'Succeeded' : 'Running' }] } }, 'status');
    }
    // The hedged report export: the Job controller made two Pods per Job; replica 1 finishes first.
    const exportPods = await until('the report-export Pods', async () => {
      const list = await kubelet.list<KubeObject & { spec: object }>('v1', 'Pod', { labelSelector: 'batch.kubernetes.io/job-name=report-export-2026-10-1-0' }, NAMESPACE);
      return list.items.length === 2 ? list.items : undefined;
    });
    for (const p of exportPods) await kubelet.mergePatch(p, { status: finishedStatus(p as never, 'Succeeded') }, 'status');

    await until('the release build to retry windows/arm64', () => argo.get('argoproj.io/v1alpha1', 'Workflow', NAMESPACE, 'release-build-v2-4-0-arm64-windows-1'));
    await sleep(3000);

    say(`taskplane status -n ${NAMESPACE}`);
    const show = (run?: string) => status(run, { kubeconfig: cp.kubeconfigPath, namespace: NAMESPACE, output: 'table' });
    await show();
    for (const run of ['database-backup-2026-11-21-full', 'release-build-v2-4-0', 'report-export-2026-10']) {
      say(`taskplane status ${run} -n ${NAMESPACE}`);
      await show(run);
    }

    // The backup's schedule (H 2 * * *, Europe/Berlin): the watcher creates the next night's run on time.
    const backup = await until('the backup schedule\'s next time', async () => {
      const config = await argo.get<KubeObject & { status?: { nextScheduled?: string } }>('taskplane.dev/v1alpha1', 'JobConfig', NAMESPACE, 'database-backup');
      return config.status?.nextScheduled;
    });
    say(`Moving the watcher's clock to ${backup}, the backup's next scheduled time`);
    watcherClock.set(new Date(backup));
    const scheduled = `database-backup-${Date.parse(backup) / 1000}`;
    // Created on time; with Enqueue it waits for the backup runs still unfinished in this story.
    await until(`the scheduled run ${scheduled}`, async () => (await argo.get<KubeObject & { status?: { phase?: string } }>('taskplane.dev/v1alpha1', 'JobRun', NAMESPACE, scheduled)).status?.phase);
    say(`taskplane status ${scheduled} -n ${NAMESPACE}`);
    await show(scheduled);
  } finally {
    say('Stopping the watcher and the control plane');
    await watcher?.stop();
    await cp.stop();
  }
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});

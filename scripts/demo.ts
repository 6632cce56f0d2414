/**
 * `npm run demo`: the whole loop on this machine. Starts a real control plane (etcd, kube-apiserver,
 * kube-controller-manager on 127.0.0.1), synthesizes apps/main.ts, applies it server-side as Argo CD
 * does, runs the watcher, plays kubelet, Argo Workflows and Tekton for a few tasks, and shows
 * `taskplane status` as a person sees it. Everything it started is stopped at the end.
 *
 * `npm run demo -- --flux`: the same story on real parts. Flux's source-controller and kustomize-controller
 * apply dist/ from a Git repository on loopback (the layout of docs/gitops.md: CRDs, then dist/00-setup, then
 * dist/jobs), kube-scheduler binds the Pods to KWOK nodes and KWOK runs them (the backup's first attempts
 * exit 3 through KWOK annotations added to its template). Argo Workflows and Tekton are still played: their
 * controllers are not part of the test cluster.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parseAllDocuments, stringify } from 'yaml';
import { buildApp } from '../apps/main.js';
import { status } from '../cli/status.js';
import { ManualClock } from '../watcher/clock.js';
import { parseTaskResources } from '../engine/task-kinds.js';
import { Watcher } from '../watcher/controller.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { createMetrics } from '../watcher/metrics.js';
import { startFlux } from '../test/cluster/flux.js';
import { startGitServer, type GitServer } from '../test/cluster/git-server.js';
import { startControlPlane, type ControlPlane } from '../test/cluster/harness.js';
import { finishedStatus, runningStatus } from '../test/cluster/kubelet.js';
import { kwokAnnotations, startNodes } from '../test/cluster/nodes.js';
import { readTree } from '../test/_synth.js';

const NAMESPACE = 'batch';
const FLUX = process.argv.includes('--flux');
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
  const demoStarted = Date.now();
  say(`Starting a control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager${FLUX ? '; kube-scheduler, KWOK nodes, Flux' : ''})`);
  const started = Date.now();
  const cp = await startControlPlane({ controllerManager: true, tether: true });
  let watcher: Watcher | undefined;
  let git: GitServer | undefined;
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
    rmSync(outdir, { recursive: true, force: true });
    for (const file of files.keys()) console.log(`    dist/${file}`);
    // Allowed the kinds its install allows (the Deployment's --task-resources), as in the cluster.
    const args = documents(files.get('watcher.k8s.yaml')!).flatMap((o) => (o.kind === 'Deployment' ? (o as { spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } } }).spec?.template?.spec?.containers?.[0]?.args ?? [] : []));
    const taskResources = parseTaskResources(args.find((a) => a.startsWith('--task-resources='))!.split('=')[1]!).resources;
    const startWatcher = async () => {
      say('Starting the watcher');
      watcher = new Watcher({ kubeConfig: kc, logger: pino({ level: 'silent' }), metrics: createMetrics(), namespace: NAMESPACE, taskResources, clock: watcherClock });
      await watcher.start();
    };

    if (FLUX) {
      git = await startGitServer();
      await deliverThroughFlux(cp, git, files, startWatcher);
    } else {
      await applyLikeArgoCd(argo, files);
      await startWatcher();
    }

    const pod = (name: string) => until(`Pod ${name}`, () => kubelet.get<KubeObject & { spec: { nodeName?: string }; status?: { phase?: string } }>('v1', 'Pod', NAMESPACE, name));
    if (FLUX) {
      say('KWOK runs the Pods on its nodes; playing Argo Workflows and Tekton for some tasks');
      for (const name of ['database-backup-2026-11-21-full-0-0', 'database-backup-2026-11-22-0-0']) {
        const done = await until(`${name} to finish on a KWOK node`, async () => {
          const p = await pod(name);
          return ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') ? p : undefined;
        });
        console.log(`    ${name}: ${done.status!.phase} on ${done.spec.nodeName}`);
      }
    }
    const setPod = async (name: string, status: (p: never) => object) => {
      const p = await pod(name);
      await kubelet.mergePatch(p, { status: status(p as never) }, 'status');
    };
    if (!FLUX) {
      say('Playing kubelet, Argo Workflows and Tekton for some tasks');
      // The nightly backup: the first attempt fails; its retry waits out the 5-minute retry delay.
      await setPod('database-backup-2026-11-21-full-0-0', (p) => runningStatus(p));
      await setPod('database-backup-2026-11-21-full-0-0', (p) => finishedStatus(p, 'Failed', 3));
      await setPod('database-backup-2026-11-22-0-0', (p) => finishedStatus(p, 'Succeeded'));
    }
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
    if (!FLUX) for (const p of exportPods) await kubelet.mergePatch(p, { status: finishedStatus(p as never, 'Succeeded') }, 'status');

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
    console.log(`\n    the demo took ${((Date.now() - demoStarted) / 1000).toFixed(1)} s`);
  } finally {
    say('Stopping the watcher and the control plane');
    await watcher?.stop();
    await git?.stop();
    await cp.stop();
  }
}

/** Server-side apply under Argo CD's field manager: the CRDs (and stand-ins for Argo's and Tekton's), then the rest. */
async function applyLikeArgoCd(argo: KubeClient, files: Map<string, string>): Promise<void> {
  say('Applying it server-side, as Argo CD does (field manager argocd-controller)');
  const crds = [...documents(files.get('taskplane.k8s.yaml')!), ...thirdPartyCrds().flatMap(([, text]) => documents(text))];
  for (const crd of crds) await argo.apply(crd);
  for (const crd of crds) {
    const { group, versions, names } = crd.spec as { group: string; versions: { name: string }[]; names: { kind: string } };
    await until(`${names.kind} to be served`, () => argo.path(`${group}/${versions[0]!.name}`, names.kind));
  }
  const objects = [...files].filter(([file]) => file.endsWith('.k8s.yaml') && file !== 'taskplane.k8s.yaml').flatMap(([, text]) => documents(text));
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  for (const namespace of namespaces) await argo.apply(namespace);
  // Pods that run as `default` are refused until kube-controller-manager has created it.
  await until('the default ServiceAccount', () => argo.get('v1', 'ServiceAccount', NAMESPACE, 'default'));
  for (const object of objects.filter((o) => o.kind !== 'Namespace')) await argo.apply(object);
  console.log(`    ${objects.length} objects applied`);
}

/** Argo Workflows and Tekton are not installed here: their CRDs (minimal) stand in for them. */
const thirdPartyCrds = () => ['argo-workflow-crd.yaml', 'tekton-taskrun-crd.yaml'].map((f) => [f, readFileSync(`test/cluster/fixtures/${f}`, 'utf8')] as const);

/**
 * Commits dist/ to a Git repository that Flux watches, with the Kustomizations of docs/gitops.md: the CRDs
 * (here a directory of their own, with Argo's and Tekton's stand-ins), dist/00-setup, and dist/jobs depending
 * on both. The watcher starts once its CRDs are there. Resolves when Flux has applied the jobs.
 */
async function deliverThroughFlux(cp: ControlPlane, git: GitServer, files: Map<string, string>, startWatcher: () => Promise<void>): Promise<void> {
  let at = Date.now();
  const nodes = await startNodes(cp);
  console.log(`    kube-scheduler and KWOK with ${nodes.names.length} nodes ready in ${((Date.now() - at) / 1000).toFixed(1)} s`);
  at = Date.now();
  const flux = await startFlux(cp);
  console.log(`    Flux (source-controller, kustomize-controller) ready in ${((Date.now() - at) / 1000).toFixed(1)} s`);

  say('Committing dist/ to a Git repository on loopback; Flux applies it');
  const repo: Record<string, string> = { 'crds/taskplane.k8s.yaml': files.get('taskplane.k8s.yaml')! };
  for (const [file, text] of thirdPartyCrds()) repo[`crds/${file}`] = text;
  for (const [file, text] of files) if (file.startsWith('00-setup/') || file.startsWith('jobs/')) repo[`dist/${file}`] = withKwokOutcomes(text);
  const revision = git.revision(git.commit(repo, 'taskplane: the example jobs'));
  const source = { kind: 'GitRepository', name: 'fleet' };
  await flux.gitRepository('fleet', git.url, '1h');
  at = Date.now();
  await flux.kustomization('crds', { interval: '1h', path: './crds', prune: true, wait: true, sourceRef: source });
  await flux.kustomization('setup', { interval: '1h', path: './dist/00-setup', prune: true, wait: true, sourceRef: source });
  await flux.kustomization('jobs', { interval: '1h', path: './dist/jobs', prune: true, wait: false, dependsOn: [{ name: 'crds' }, { name: 'setup' }], sourceRef: source });
  await flux.waitForKustomization('crds', { revision, ready: 'True' }, 120_000);
  await startWatcher();
  for (const name of ['setup', 'jobs']) {
    const ks = await flux.waitForKustomization(name, { revision, ready: 'True' }, 120_000);
    console.log(`    Kustomization ${name}: ${ks.status?.inventory?.entries.length ?? 0} objects applied at ${revision}`);
  }
  console.log(`    from the first commit to the jobs applied: ${((Date.now() - at) / 1000).toFixed(1)} s`);
}

/**
 * The backup's first attempts exit 3 on KWOK (test/cluster/kwok-pod-stages.yaml): the annotations go into
 * its JobConfig's and JobRuns' template, and into the first-attempt Pods as the renderer would write them.
 */
function withKwokOutcomes(text: string): string {
  const annotations = kwokAnnotations({ outcome: 'fail', attempts: [0], exitCode: 3, runTime: '1s' });
  const objects = documents(text) as (KubeObject & { spec?: { template?: { taskTemplate?: { pod?: { metadata?: { annotations?: Record<string, string> } } } } } })[];
  let changed = false;
  for (const object of objects) {
    const pod = object.spec?.template?.taskTemplate?.pod;
    if ((object.kind === 'JobConfig' && object.metadata.name === 'database-backup') || (object.kind === 'JobRun' && object.metadata.labels?.['taskplane.dev/config'] === 'database-backup')) {
      pod!.metadata = { ...pod!.metadata, annotations: { ...pod!.metadata?.annotations, ...annotations } };
      changed = true;
    }
    const retryIndex = object.metadata.labels?.['taskplane.dev/retry-index'];
    if (object.kind === 'Pod' && object.metadata.labels?.['taskplane.dev/config'] === 'database-backup' && retryIndex !== undefined) {
      const rendered = Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k, v.replace('${task.retry_index}', retryIndex)]));
      object.metadata.annotations = { ...object.metadata.annotations, ...rendered };
      changed = true;
    }
  }
  return changed ? objects.map((o) => stringify(o)).join('---\n') : text;
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});

/** Helpers for watcher tests against the real control plane. */
import { Chart } from 'cdk8s';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { JobConfig, TaskplaneApp, type JobConfigProps, type JobRun, type OptionDefinitions } from '../../constructs/index.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import { Watcher, type WatcherOptions } from '../../watcher/controller.js';
import { KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { createMetrics } from '../../watcher/metrics.js';
import { apply, kubeConfig, waitUntil } from '../cluster/client.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';

export const ARGOCD = 'argocd-controller';

export function testClient(kc: KubeConfig = kubeConfig()): KubeClient {
  return new KubeClient(kc, 'taskplane-test');
}

export async function startWatcher(options: Partial<WatcherOptions> = {}): Promise<Watcher> {
  const watcher = new Watcher({
    kubeConfig: kubeConfig(),
    logger: pino({ level: process.env.TASKPLANE_TEST_LOG ?? 'silent' }),
    metrics: createMetrics(),
    ...options,
  });
  await watcher.start();
  return watcher;
}

/**
 * Synthesizes one JobConfig and one run through the real constructs and returns the documents of
 * the run's file (the JobRun, then its first-attempt tasks) and of the JobConfig.
 */
export function synthRun<O extends OptionDefinitions>(
  namespace: string,
  props: JobConfigProps<O>,
  run: (config: JobConfig<O>) => JobRun,
): { config: KubeObject; run: JobRunObject & KubeObject; tasks: KubeObject[] } {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  const config = new JobConfig<O>(new Chart(app, 'jobs', { namespace }), props.name ?? 'job', props);
  const jobRun = run(config);
  app.synth();
  const files = readTree(app.outdir);
  const [configDoc] = parseDocuments(files.get(`jobs/${config.name}/jobconfig.k8s.yaml`)!);
  const [runDoc, ...tasks] = parseDocuments(files.get(`jobs/${config.name}/runs/${jobRun.name}.k8s.yaml`)!);
  return { config: configDoc, run: runDoc, tasks };
}

/** Applies documents the way Argo CD does with ServerSideApply=true. */
export async function applyAsGitOps(docs: KubeObject[], fieldManager = ARGOCD): Promise<void> {
  await apply(docs as never, { fieldManager, force: true });
}

export async function getRun(client: KubeClient, namespace: string, name: string): Promise<JobRunObject & KubeObject> {
  return client.get('taskplane.dev/v1alpha1', 'JobRun', namespace, name);
}

/** Waits until the run's status satisfies `check`; returns the run. */
export function waitForRun(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
  check: (run: JobRunObject) => boolean,
  timeoutMs = 45_000,
): Promise<JobRunObject & KubeObject> {
  return waitUntil(`JobRun ${name}: ${what}`, async () => {
    const run = await getRun(client, namespace, name);
    return check(run) ? run : undefined;
  }, timeoutMs);
}

export async function listTasks(client: KubeClient, namespace: string, apiVersion: string, kind: string, runName: string): Promise<KubeObject[]> {
  const list = await client.list(apiVersion, kind, { labelSelector: `taskplane.dev/run=${runName}` }, namespace);
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** What a kubelet writes once a Pod's containers started. */
export async function markPodRunning(client: KubeClient, namespace: string, name: string): Promise<void> {
  const pod = await client.get<KubeObject & { spec: { containers: { name: string; image: string }[] } }>('v1', 'Pod', namespace, name);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.mergePatch(pod, {
    status: {
      phase: 'Running',
      startTime: now,
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }, { type: 'Ready', status: 'True', lastTransitionTime: now }],
      containerStatuses: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    },
  }, 'status');
}

export async function events(client: KubeClient, namespace: string, runName: string): Promise<{ reason: string; type: string; message: string }[]> {
  const list = await client.list<KubeObject & { reason: string; type: string; message: string; involvedObject: { name: string } }>('v1', 'Event', {}, namespace);
  return list.items.filter((e) => e.involvedObject.name === runName).map(({ reason, type, message }) => ({ reason, type, message }));
}

export const podTask = (args: string[] = ['true']) => ({ containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c'], args }] });

/**
 * The Colonies shape on the real control plane: the seed's function spec (2 nodes × 2 processes)
 * synthesized by JobConfig.fromFunctionSpec, applied the way Argo CD applies it, each attempt a batch
 * Job run by the real job controller (Pods finished the way a kubelet would), one node failing the
 * first attempt and the watcher retrying the whole Job.
 */
import { Chart } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloWorldSpec } from '../../apps/jobs/colonies-hello.js';
import { JobConfig, TaskplaneApp } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';
import { applyAsGitOps, ARGOCD, startWatcher, testClient, waitForRun } from './helpers.js';

const client = testClient();
let watcher: Watcher;
let ns: TestNamespace;

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
  ns = await createNamespace('tp-colonies');
  watcher = await startWatcher({ namespace: ns.name });
});

afterAll(async () => {
  await watcher?.stop();
  await ns?.delete();
});

type PodObject = KubeObject & { spec: { containers: { name: string; resources?: unknown }[] } };

/** The Pods the job controller made for one attempt's Job, by completion index. */
function podsOf(job: string): Promise<PodObject[]> {
  return waitUntil(`2 Pods of Job ${job}`, async () => {
    const list = await client.list<PodObject>('v1', 'Pod', { labelSelector: `batch.kubernetes.io/job-name=${job}` }, ns.name);
    if (list.items.length !== 2) return undefined;
    return list.items.sort((a, b) => Number(a.metadata.annotations?.['batch.kubernetes.io/job-completion-index']) - Number(b.metadata.annotations?.['batch.kubernetes.io/job-completion-index']));
  }, 30_000);
}

describe('a Colonies function spec as a taskplane JobConfig', () => {
  it('runs 2 nodes × 2 processes as one indexed Job per attempt, and retries the whole Job when a node fails', async () => {
    const app = new TaskplaneApp({ outdir: tempOutdir() });
    JobConfig.fromFunctionSpec(new Chart(app, 'jobs', { namespace: ns.name }), 'hello', helloWorldSpec).run('r1', {});
    app.synth();
    const files = readTree(app.outdir);
    const [config] = parseDocuments(files.get('jobs/hello/jobconfig.k8s.yaml')!);
    const [run, ...tasks] = parseDocuments(files.get('jobs/hello/runs/hello-r1.k8s.yaml')!);
    expect(tasks.map((t) => [t.kind, t.metadata.name])).toEqual([['Job', 'hello-r1-0-0']]);
    await applyAsGitOps([config, run, ...tasks]);

    // Attempt 0: the job controller makes one Pod per node, each with one container per process.
    const first = await podsOf('hello-r1-0-0');
    expect(first.map((p) => p.spec.containers.map((c) => c.name))).toEqual([['process-0', 'process-1'], ['process-0', 'process-1']]);
    expect(first[0]!.spec.containers[0]!.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '500m', memory: '1Gi' } });
    await finishPod(ns.name, first[0]!.metadata.name, 'Succeeded');
    await finishPod(ns.name, first[1]!.metadata.name, 'Failed');

    // backoffLimit 0: one failed node fails the Job; the watcher starts attempt 1, a whole new Job.
    const retry = await waitUntil('attempt 1', () => client.get<KubeObject & { spec: Record<string, unknown> }>('batch/v1', 'Job', ns.name, 'hello-r1-0-1'), 30_000);
    expect(retry.spec).toMatchObject({ completions: 2, parallelism: 2, completionMode: 'Indexed', activeDeadlineSeconds: 90, backoffLimit: 0 });
    for (const pod of await podsOf('hello-r1-0-1')) await finishPod(ns.name, pod.metadata.name, 'Succeeded');

    const done = await waitForRun(client, ns.name, 'hello-r1', 'Succeeded', (r) => r.status?.phase === 'Succeeded', 60_000);
    expect(done.spec.template.maxAttempts).toBe(4);
    expect(done.spec.template.taskTimeoutSeconds).toBe(80);
    expect(done.status!.tasks!.map((t) => [t.name, t.retryIndex, t.status.result])).toEqual([
      ['hello-r1-0-0', 0, 'Failed'],
      ['hello-r1-0-1', 1, 'Succeeded'],
    ]);
  });
});

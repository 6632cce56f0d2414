/**
 * The nodes harness (nodes.ts): the real kube-scheduler binds Pods to KWOK's fake Nodes, and the Pod stages
 * (kwok-pod-stages.yaml) give each outcome a test can ask for the status a kubelet would write. Then the
 * watcher's Pod executor reads those statuses. Own control plane: the shared one has no scheduler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import { TaskTemplate } from '../../constructs/index.js';
import type { Watcher } from '../../watcher/controller.js';
import type { KubeClient, KubeObject } from '../../watcher/kube/client.js';
import { ARGOCD, podTask, startWatcher, synthRun, testClient, waitForRun } from '../watcher/helpers.js';
import { apply, applyCrds, clients, kubeConfig, waitUntil, type Clients } from './client.js';
import { startControlPlane, type ControlPlane } from './harness.js';
import { kwokAnnotations, startNodes, type KwokOutcome } from './nodes.js';

const NS = 'default';
let cp: ControlPlane;
let client: KubeClient;
let watcher: Watcher;
let c: Clients;

interface PodObject extends KubeObject {
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    containerStatuses?: { state: { waiting?: { reason: string }; running?: object; terminated?: { exitCode: number; reason: string } } }[];
  };
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true, tether: true });
  await startNodes(cp);
  const kc = kubeConfig(cp.kubeconfigPath);
  client = testClient(kc);
  c = clients(kc);
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true, c });
  watcher = await startWatcher({ kubeConfig: kc, namespace: NS });
}, 180_000);

afterAll(async () => {
  await watcher?.stop();
  await cp?.stop();
});

async function runPod(name: string, annotations: Record<string, string>): Promise<PodObject> {
  await client.create({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, annotations },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] },
  } as KubeObject);
  return client.get<PodObject>('v1', 'Pod', NS, name);
}

const terminal = (name: string) => waitUntil(`Pod ${name} finished`, async () => {
  const pod = await client.get<PodObject>('v1', 'Pod', NS, name);
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? pod : undefined;
}, 60_000);

describe('KWOK stages', () => {
  it('each outcome ends as a kubelet reports it, on a Node the scheduler chose', async () => {
    const cases: [KwokOutcome, Record<string, unknown>][] = [
      ['succeed', { phase: 'Succeeded', terminated: { exitCode: 0, reason: 'Completed' } }],
      ['fail', { phase: 'Failed', terminated: { exitCode: 42, reason: 'Error' } }],
      ['oom', { phase: 'Failed', terminated: { exitCode: 137, reason: 'OOMKilled' } }],
      ['evict', { phase: 'Failed', reason: 'Evicted', disruption: 'TerminationByKubelet', terminated: { exitCode: 137, reason: 'Error' } }],
    ];
    for (const [outcome] of cases) await runPod(`stage-${outcome}`, kwokAnnotations({ outcome, exitCode: 42, runTime: '500ms' }));
    for (const [outcome, want] of cases) {
      const pod = await terminal(`stage-${outcome}`);
      expect(pod.spec.nodeName, outcome).toMatch(/^kwok-node-\d$/);
      expect({
        phase: pod.status!.phase,
        ...(pod.status!.reason ? { reason: pod.status!.reason } : {}),
        ...(outcome === 'evict' ? { disruption: pod.status!.conditions!.find((c) => c.type === 'DisruptionTarget')?.reason } : {}),
        terminated: pod.status!.containerStatuses![0]!.state.terminated,
      }, outcome).toMatchObject(want);
    }
  }, 120_000);

  it('the outcome applies to the listed attempts only; pending stays ContainerCreating', async () => {
    await runPod('attempt-0', { ...kwokAnnotations({ outcome: 'fail', attempts: [0] }), 'test.taskplane.dev/attempt': '0' });
    await runPod('attempt-1', { ...kwokAnnotations({ outcome: 'fail', attempts: [0] }), 'test.taskplane.dev/attempt': '1' });
    await runPod('stuck', kwokAnnotations({ outcome: 'pending' }));
    expect((await terminal('attempt-0')).status!.phase).toBe('Failed');
    expect((await terminal('attempt-1')).status!.phase).toBe('Succeeded');
    const stuck = await waitUntil('Pod stuck created', async () => {
      const pod = await client.get<PodObject>('v1', 'Pod', NS, 'stuck');
      return pod.status?.containerStatuses ? pod : undefined;
    });
    // Give the other stages every chance: the running ones took 300 ms.
    await new Promise((r) => setTimeout(r, 2000));
    const later = await client.get<PodObject>('v1', 'Pod', NS, 'stuck');
    expect(later.status!.phase).toBe('Pending');
    expect(later.status!.containerStatuses![0]!.state.waiting?.reason).toBe('ContainerCreating');
    expect(later.metadata.resourceVersion).toBe(stuck.metadata.resourceVersion);
  }, 120_000);
});

describe('the watcher on KWOK', () => {
  it('reads an OOM-killed first attempt from the status KWOK wrote, and retries it', async () => {
    const { config, run, tasks } = synthRun(NS, {
      name: 'kwok-oom', maxAttempts: 2,
      task: TaskTemplate.pod({ metadata: { annotations: kwokAnnotations({ outcome: 'oom', attempts: [0], runTime: '500ms' }) }, spec: podTask() }),
    }, (c) => c.run('r1', {}));
    await apply([config, run, ...tasks] as never, { fieldManager: ARGOCD, force: true, c });
    const done = await waitForRun(client, NS, 'kwok-oom-r1', 'finished', (r) => r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed', 60_000);
    expect(done.status!.tasks!.map((t) => [t.name, t.status.result, t.status.reason])).toEqual([
      ['kwok-oom-r1-0-0', 'Failed', expect.stringMatching(/OOMKilled/)],
      ['kwok-oom-r1-0-1', 'Succeeded', undefined],
    ]);
    expect(done.status!.phase).toBe('Succeeded');
  }, 120_000);
});

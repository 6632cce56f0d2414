import type { V1Job, V1JobCondition } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, createNamespace, finishPod, waitUntil, type TerminalPhase, type TestNamespace } from './client.js';

// batch/v1 Jobs driven by the real job controller (kube-controller-manager); Pod outcomes written the way a
// kubelet would, since none runs (README: "How tests drive Pods").
const c = clients();
let ns: TestNamespace;
beforeAll(async () => {
  ns = await createNamespace('jobs');
});
afterAll(async () => {
  await ns?.delete();
});

function job(name: string): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }],
        },
      },
    },
  };
}

async function runJob(name: string, phase: TerminalPhase): Promise<V1JobCondition[]> {
  await c.batch.createNamespacedJob({ namespace: ns.name, body: job(name) });
  const pod = await waitUntil(`a Pod for Job ${name}`, async () => {
    const pods = await c.core.listNamespacedPod({ namespace: ns.name, labelSelector: `batch.kubernetes.io/job-name=${name}` });
    return pods.items[0];
  });
  expect(pod.status?.phase).toBe('Pending'); // no kubelet, no scheduler: it stays Pending until we finish it
  await finishPod(ns.name, pod.metadata!.name!, phase);
  const terminal = phase === 'Succeeded' ? 'Complete' : 'Failed';
  const done = await waitUntil(`Job ${name} ${terminal}`, async () => {
    const j = await c.batch.readNamespacedJob({ name, namespace: ns.name });
    return j.status?.conditions?.some((x) => x.type === terminal && x.status === 'True') ? j : undefined;
  });
  return done.status!.conditions!;
}

describe('batch/v1 Job with the job controller', () => {
  it('completes when its Pod succeeds (SuccessCriteriaMet, then Complete)', async () => {
    const conditions = await runJob('ok', 'Succeeded');
    expect(conditions.map((x) => [x.type, x.status])).toEqual([['SuccessCriteriaMet', 'True'], ['Complete', 'True']]);
    const j = await c.batch.readNamespacedJob({ name: 'ok', namespace: ns.name });
    expect([j.status?.succeeded, j.status?.active ?? 0]).toEqual([1, 0]);
  });

  it('fails when its Pod fails with backoffLimit 0 (FailureTarget, then Failed)', async () => {
    const conditions = await runJob('bad', 'Failed');
    expect(conditions.map((x) => [x.type, x.status, x.reason])).toEqual([
      ['FailureTarget', 'True', 'BackoffLimitExceeded'],
      ['Failed', 'True', 'BackoffLimitExceeded'],
    ]);
    const j = await c.batch.readNamespacedJob({ name: 'bad', namespace: ns.name });
    expect([j.status?.failed, j.status?.active ?? 0]).toEqual([1, 0]);
  });
});

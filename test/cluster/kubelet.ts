/**
 * The Pod status a kubelet writes, for a control plane without nodes: tests and the demo patch it
 * through the status subresource to move Pods along.
 */
import { randomBytes } from 'node:crypto';

interface PodLike {
  spec?: { containers?: { name: string; image?: string }[] };
  status?: { startTime?: string | Date };
}

const time = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

function containerStatus(container: { name: string; image?: string }, running: boolean, state: object) {
  return {
    name: container.name,
    image: container.image ?? '',
    imageID: '',
    containerID: `containerd://${randomBytes(16).toString('hex')}`,
    ready: running,
    started: running,
    restartCount: 0,
    state,
  };
}

function condition(type: string, status: string, at: Date, reason?: string) {
  return { type, status, lastTransitionTime: time(at), ...(reason && { reason }) };
}

/** Containers started and ready. */
export function runningStatus(pod: PodLike, now = new Date()) {
  return {
    phase: 'Running',
    startTime: time(now),
    conditions: [condition('PodScheduled', 'True', now), condition('Initialized', 'True', now), condition('Ready', 'True', now), condition('ContainersReady', 'True', now)],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => containerStatus(c, true, { running: { startedAt: time(now) } })),
  };
}

/** Every container terminated with `exitCode`; the Pod Succeeded or Failed. */
export function finishedStatus(pod: PodLike, phase: 'Succeeded' | 'Failed', exitCode = phase === 'Succeeded' ? 0 : 1, now = new Date()) {
  const started = pod.status?.startTime ? new Date(pod.status.startTime) : new Date(now.getTime() - 1000);
  const done = phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
  return {
    phase,
    startTime: time(started),
    conditions: [
      condition('PodScheduled', 'True', now),
      condition('Initialized', 'True', now, phase === 'Succeeded' ? 'PodCompleted' : undefined),
      condition('Ready', 'False', now, done),
      condition('ContainersReady', 'False', now, done),
    ],
    containerStatuses: (pod.spec?.containers ?? []).map((c) =>
      containerStatus(c, false, { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: time(started), finishedAt: time(now) } }),
    ),
  };
}

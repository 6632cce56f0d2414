/**
 * `pod`: each task is a v1 Pod. restartPolicy defaults to Never (retries belong to taskplane);
 * Always is rejected because such a Pod never finishes.
 */
import type { FieldError } from '../errors.js';
import { DNS_LABEL_PATTERN } from '../names.js';
import { objectFrom } from './_metadata.js';
import { deadlinePatch, findCondition, latest, unlessDeleting, unlessFinished, type Condition } from './_observe.js';
import type { Executor, LiveTask, TaskObservation } from './types.js';

export interface PodTaskTemplate {
  readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: Record<string, unknown>;
}

type Container = { name?: unknown; image?: unknown; env?: unknown; volumeMounts?: unknown };

/**
 * What the API server requires of a PodSpec that TypeScript cannot express (Kubernetes'
 * ValidatePodSpec), checked on the template (`rendered` false: a string holding `${...}` is judged
 * once substituted) and again on each rendered task, where only substituted values can still fail.
 * Shared by Pods and the pod template of Jobs.
 */
export function validatePodSpec(spec: Record<string, unknown>, field: string, rendered = false): FieldError[] {
  const check: ContainerCheck = {
    rendered,
    pending: (value) => !rendered && typeof value === 'string' && value.includes('${'),
    volumes: new Set(listOf(spec.volumes).map((v) => (v as { name?: unknown }).name)),
    names: new Map(),
  };
  const errors: FieldError[] = [];
  if (!rendered && spec.restartPolicy === 'Always') {
    errors.push({ field: `${field}.restartPolicy`, message: 'a task must run to completion', value: 'Always', valid: 'Never (default) or OnFailure' });
  }
  if (!rendered && (!Array.isArray(spec.containers) || spec.containers.length === 0)) {
    errors.push({ field: `${field}.containers`, message: 'at least one container is required' });
  }
  if (!rendered && Array.isArray(spec.ephemeralContainers) && spec.ephemeralContainers.length > 0) {
    errors.push({ field: `${field}.ephemeralContainers`, message: 'cannot be set when a Pod is created', valid: 'containers or initContainers' });
  }
  for (const list of ['initContainers', 'containers'] as const) {
    listOf(spec[list]).forEach((container, i) => errors.push(...containerErrors(container as Container, `${list}[${i}]`, field, check)));
  }
  if (!rendered) errors.push(...numberErrors(spec, field, { activeDeadlineSeconds: 1, terminationGracePeriodSeconds: 0 }));
  return errors;
}

/** Integer fields the API server bounds below, by their minimum (TypeScript types them as any number). */
export function numberErrors(spec: Record<string, unknown>, field: string, minimums: Readonly<Record<string, number>>): FieldError[] {
  return Object.entries(minimums).flatMap(([key, minimum]) => {
    const value = spec[key];
    if (value === undefined || (Number.isInteger(value) && (value as number) >= minimum)) return [];
    return [{ field: `${field}.${key}`, message: 'is out of range', value, valid: `an integer >= ${minimum}` }];
  });
}

interface ContainerCheck {
  readonly rendered: boolean;
  /** True for a template string that substitution has yet to fill. */
  readonly pending: (value: unknown) => boolean;
  readonly volumes: ReadonlySet<unknown>;
  /** Container names seen so far, with where. */
  readonly names: Map<unknown, string>;
}

function containerErrors(container: Container, at: string, field: string, check: ContainerCheck): FieldError[] {
  const { rendered, pending, volumes, names } = check;
  const path = `${field}.${at}`;
  const errors: FieldError[] = [];
  const { name, image } = container;
  if (typeof name !== 'string' || name === '') {
    if (!rendered) errors.push({ field: `${path}.name`, message: 'a container needs a name', value: name, valid: 'a DNS label, e.g. "main"' });
  } else if (!pending(name)) {
    if (name.length > 63 || !DNS_LABEL_PATTERN.test(name)) {
      errors.push({ field: `${path}.name`, message: 'container name is not a DNS label', value: name, valid: 'lowercase letters, digits and "-", at most 63 characters' });
    }
    const first = names.get(name);
    if (first) errors.push({ field: `${path}.name`, message: `duplicate container name, also used by ${first}`, value: name, valid: 'a name unique among containers and initContainers' });
    else names.set(name, at);
  }
  if (typeof image !== 'string' || image === '') {
    // A missing image is the template's problem, reported before rendering.
    if (!rendered || typeof image === 'string') {
      errors.push({ field: `${path}.image`, message: rendered ? 'image is empty after substitution' : 'a container needs an image', value: image, valid: 'an image reference, e.g. "busybox:1.36"' });
    }
  } else if (!pending(image) && image.trim() !== image) {
    errors.push({ field: `${path}.image`, message: 'image has leading or trailing white space', value: image, valid: JSON.stringify(image.trim()) });
  }
  listOf(container.env).forEach((variable, j) => {
    const envName = (variable as { name?: unknown }).name;
    if (!rendered && (typeof envName !== 'string' || envName === '')) {
      errors.push({ field: `${path}.env[${j}].name`, message: 'an environment variable needs a name', value: envName });
    }
  });
  listOf(container.volumeMounts).forEach((mount, j) => {
    const volume = (mount as { name?: unknown }).name;
    if (!pending(volume) && ![...volumes].some(pending) && !volumes.has(volume)) {
      const valid = volumes.size ? `one of spec.volumes: ${[...volumes].join(', ')}` : 'a name declared in spec.volumes';
      errors.push({ field: `${path}.volumeMounts[${j}].name`, message: 'mounts a volume the Pod does not declare', value: volume, valid });
    }
  });
  return errors;
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value.filter((item) => item !== null && typeof item === 'object') : [];
}

interface Terminated {
  readonly exitCode: number;
  readonly reason?: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}
interface ContainerState {
  readonly running?: { readonly startedAt?: string };
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly terminated?: Terminated;
}
interface ContainerStatus {
  readonly name: string;
  readonly state?: ContainerState;
  readonly lastState?: ContainerState;
}
interface PodStatus {
  readonly phase?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly startTime?: string;
  readonly conditions?: readonly Condition[];
  readonly containerStatuses?: readonly ContainerStatus[];
  readonly initContainerStatuses?: readonly ContainerStatus[];
}
type Explanation = Pick<TaskObservation, 'reason' | 'message'>;

/**
 * Pod `status.reason`s that mean something outside the program stopped it: the node (eviction,
 * shutdown), the scheduler (preemption) or taskplane itself (`DeadlineExceeded`, its in-place kill).
 */
const KILL_REASONS = new Set(['DeadlineExceeded', 'Evicted', 'Preempting', 'Terminated']);

const allContainers = (status: PodStatus) => [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? [])];
const exitMessage = (terminated: Terminated) => terminated.message || `Container exited with status ${terminated.exitCode}`;

/** Furiko's order: the first source with both a reason and a message. */
function explain(status: PodStatus): Explanation {
  const containers = allContainers(status);
  const failedExits = containers.map((c) => c.state?.terminated).filter((t): t is Terminated => t !== undefined && t.exitCode !== 0);
  const sources: (Explanation | undefined)[] = [
    status,
    findCondition(status.conditions, 'PodScheduled', 'False'),
    findCondition(status.conditions, 'Initialized', 'False'),
    ...containers.map((c) => c.state?.waiting),
    // A successful container's message is its result, not an explanation.
    ...failedExits.map((t) => ({ reason: t.reason, message: exitMessage(t) })),
  ];
  const found = sources.find((source) => source?.reason && source.message);
  return found ? { reason: found.reason, message: found.message } : {};
}

/** Killed beats OOMKilled: a pod-level cause says why the pod ended; an OOM may be an earlier restart's. */
function failure(status: PodStatus): Pick<TaskObservation, 'result' | 'reason' | 'message'> {
  if (status.reason && KILL_REASONS.has(status.reason)) return { result: 'Killed', reason: status.reason, message: status.message };
  const disruption = findCondition(status.conditions, 'DisruptionTarget');
  if (disruption) return { result: 'Killed', reason: disruption.reason, message: disruption.message };
  const oom = allContainers(status).flatMap((c) => [c.state?.terminated, c.lastState?.terminated]).find((t) => t?.reason === 'OOMKilled');
  if (oom) return { result: 'Failed', reason: 'OOMKilled', message: exitMessage(oom) };
  return { result: 'Failed', ...explain(status) };
}

function finishTimestamp(object: LiveTask['object'], status: PodStatus): string | undefined {
  const finished = latest(allContainers(status).flatMap((c) => [c.state?.terminated?.finishedAt, c.lastState?.terminated?.finishedAt]));
  if (finished) return finished;
  const deadline = (object.spec as { activeDeadlineSeconds?: number } | undefined)?.activeDeadlineSeconds;
  if (status.reason === 'DeadlineExceeded' && deadline !== undefined && status.startTime) {
    return new Date(Date.parse(status.startTime) + deadline * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return status.startTime ?? (object.metadata.creationTimestamp as string | undefined);
}

/** The last non-empty termination message, as JSON when it parses. */
function terminationResult(containers: readonly ContainerStatus[]): unknown {
  const text = containers.map((c) => c.state?.terminated?.message).filter((message) => message).at(-1);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** For retry rules: init containers first, as they ran; a container that restarted (OnFailure) reports its last exit. */
function exitCodes(status: PodStatus): Pick<TaskObservation, 'exitCodes'> {
  const codes: Record<string, number> = {};
  for (const container of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const terminated = container.state?.terminated ?? container.lastState?.terminated;
    if (terminated && Number.isInteger(terminated.exitCode)) codes[container.name] = terminated.exitCode;
  }
  return Object.keys(codes).length ? { exitCodes: codes } : {};
}

function observe(task: LiveTask): TaskObservation {
  const status: PodStatus = task.object.status ?? {};
  const containers = status.containerStatuses ?? [];
  const runningTimestamp = latest(containers.flatMap((c) => [c.state?.running?.startedAt, c.state?.terminated?.startedAt]));
  if (status.phase !== 'Succeeded' && status.phase !== 'Failed') {
    return unlessDeleting(task, { state: status.phase === 'Running' ? 'Running' : 'Starting', ...explain(status), runningTimestamp });
  }
  return {
    state: 'Terminated',
    ...(status.phase === 'Succeeded' ? { result: 'Succeeded', ...explain(status) } : { ...failure(status), ...exitCodes(status) }),
    runningTimestamp,
    finishTimestamp: finishTimestamp(task.object, status),
    taskResult: terminationResult(containers),
  };
}

export const podExecutor: Executor<PodTaskTemplate> = {
  name: 'pod',
  validate: (template, field) => validatePodSpec(template.spec, `${field}.spec`),
  validateRendered: (manifest, field) => validatePodSpec(manifest.spec as Record<string, unknown>, `${field}.spec`, true),
  manifest(template) {
    const manifest = objectFrom('v1', 'Pod', template.metadata, template.spec);
    (manifest.spec as Record<string, unknown>).restartPolicy ??= 'Never';
    return manifest;
  },
  observe,
  kill: (task, _template, now) => unlessFinished(observe(task), () => deadlinePatch(task.object, now)),
};

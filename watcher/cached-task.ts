/**
 * What the task caches keep of each task object (client-go's transform): at 100,000 cached Pods the
 * cache is most of the watcher's memory, and most of a Pod is read by no one. For the kinds whose
 * executor reads known fields (Pod, Job) only those are kept: what their observe and kill halves
 * read (engine/executors/pod.ts, job.ts, _observe.ts), what watcher/tasks.ts and the kill path read
 * (name, namespace, uid, labels, taskplane's annotations, ownerReferences), and the resourceVersion
 * the cache compares. Other kinds are read by CEL or by the HTTP runner, field by field as their
 * author wrote it: they lose only managedFields. test/watcher/cached-task.test.ts proves a trimmed
 * object observes and kills like the whole one.
 */
import type { KubeObject } from './kube/client.js';

type Json = Record<string, unknown>;

/** The task caches' transform for objects of `apiVersion`/`kind`. */
export function cachedTask(apiVersion: string, kind: string): <O extends KubeObject>(object: O) => O {
  if (apiVersion === 'v1' && kind === 'Pod') return trimmed(POD);
  if (apiVersion === 'batch/v1' && kind === 'Job') return trimmed(JOB);
  return withoutManagedFields;
}

/**
 * managedFields dropped (controller-runtime strips them too): nothing reads a task's field managers,
 * and they are often the largest part of a small object. (The runs cache keeps them: status-owner.ts
 * reads who wrote a run's status.)
 */
export function withoutManagedFields<O extends KubeObject>(object: O): O {
  if (!object.metadata.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** The fields kept of spec and status; a nested entry keeps those fields of each element of a list. */
interface Shape {
  readonly spec: readonly string[];
  readonly status: Readonly<Record<string, true | readonly string[]>>;
}

const CONDITION = ['type', 'status', 'reason', 'message', 'lastTransitionTime'];
const CONTAINER_STATUS = ['name', 'state', 'lastState'];

const POD: Shape = {
  spec: ['activeDeadlineSeconds'],
  status: { phase: true, reason: true, message: true, startTime: true, conditions: CONDITION, containerStatuses: CONTAINER_STATUS, initContainerStatuses: CONTAINER_STATUS },
};

const JOB: Shape = {
  spec: ['suspend', 'activeDeadlineSeconds'],
  status: { conditions: CONDITION, startTime: true, completionTime: true, active: true, ready: true, succeeded: true, failed: true },
};

const METADATA = ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'labels', 'ownerReferences'];
/** Task objects carry taskplane's marks under this prefix (the parallel index); other annotations can be large (kubectl's last-applied-configuration). */
const OWN_ANNOTATIONS = 'taskplane.dev/';

function trimmed(shape: Shape) {
  return <O extends KubeObject>(object: O): O => {
    const metadata = pick(object.metadata as Json, METADATA);
    const annotations = Object.entries(object.metadata.annotations ?? {}).filter(([key]) => key.startsWith(OWN_ANNOTATIONS));
    if (annotations.length) metadata.annotations = Object.fromEntries(annotations);
    const out: Json = { apiVersion: object.apiVersion, kind: object.kind, metadata };
    const spec = (object as Json).spec as Json | undefined;
    if (spec) out.spec = pick(spec, shape.spec);
    const status = (object as Json).status as Json | undefined;
    if (status) {
      const kept: Json = {};
      for (const [field, keep] of Object.entries(shape.status)) {
        const value = status[field];
        if (value === undefined) continue;
        kept[field] = keep === true || !Array.isArray(value) ? value : value.map((item) => (item !== null && typeof item === 'object' ? pick(item as Json, keep) : item));
      }
      out.status = kept;
    }
    return out as O;
  };
}

function pick(from: Json, fields: readonly string[]): Json {
  const out: Json = {};
  for (const field of fields) if (from[field] !== undefined) out[field] = from[field];
  return out;
}

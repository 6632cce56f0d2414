/**
 * The buckets the watcher's caches keep (Reflector's indexBy, client-go's indexers), so that one
 * run's reconcile reads its own task objects and its config's runs, not the whole cluster's; and
 * what the task caches keep of each object.
 */
import { LABEL_RUN } from '../engine/labels.js';
import type { KubeObject } from './kube/client.js';

/** A run's task objects: by the run label. */
export const runBucket = (namespace: string | undefined, run: string) => `${namespace ?? ''}/${run}`;

/** A config's runs. */
export const configBucket = (namespace: string | undefined, config: string) => `${namespace ?? ''}/${config}`;

export function taskRunBucket(object: KubeObject): string | undefined {
  const run = object.metadata.labels?.[LABEL_RUN];
  return run ? runBucket(object.metadata.namespace, run) : undefined;
}

export function runConfigBucket(object: KubeObject): string | undefined {
  const config = (object as KubeObject & { spec?: { configName?: string } }).spec?.configName;
  return config ? configBucket(object.metadata.namespace, config) : undefined;
}

/**
 * Task objects are cached without managedFields (controller-runtime strips them too): nothing reads
 * a task's field managers, and they are often the largest part of a small object. (The runs cache
 * keeps them: status-owner.ts reads who wrote a run's status.)
 */
export function withoutManagedFields<O extends KubeObject>(object: O): O {
  if (!object.metadata.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/**
 * The buckets the watcher's caches keep (Reflector's indexBy, client-go's indexers), so that one
 * run's reconcile reads its own task objects and its config's runs, not the whole cluster's. What the
 * task caches keep of each object: cached-task.ts.
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

/**
 * TaskCacheEntry (taskplane.dev/v1alpha1): one successful task's result, kept for the runs of the
 * same JobConfig that would repeat it (engine/cache/). Written only by the watcher; one small object
 * per key, owned by its JobConfig.
 */
import Type, { type Static } from 'typebox';
import { OpaqueObject, StrictObject, Timestamp } from './_builders.js';
import { GROUP_VERSION, type ObjectMeta } from './resources.js';

export const TaskCacheEntrySpecSchema = StrictObject({
  configName: Type.String({ minLength: 1, description: 'The JobConfig whose runs may use this entry.' }),
  key: Type.String({ minLength: 1, description: 'The cache key (hex SHA-256 of the config, version, index and the task or the configured key).' }),
  version: Type.String({ description: 'The cache version the task ran under.' }),
  index: OpaqueObject('The parallel index of the task.'),
  run: Type.String({ description: 'The run whose task produced the result.' }),
  task: Type.String({ description: 'The task object that produced the result.' }),
  finishTimestamp: Timestamp('When that task finished; the entry is used until maxAgeSeconds after it.'),
  result: Type.Optional(OpaqueObject('The task result, copied into the status of runs that use the entry.')),
});

export type TaskCacheEntrySpec = Static<typeof TaskCacheEntrySpecSchema>;

export interface TaskCacheEntryObject {
  readonly apiVersion: typeof GROUP_VERSION;
  readonly kind: 'TaskCacheEntry';
  readonly metadata: ObjectMeta & { readonly ownerReferences?: readonly { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly uid: string }[] };
  readonly spec: TaskCacheEntrySpec;
}

/** `taskplane kill <run>`: sets the run's spec.killTimestamp; the watcher stops its tasks in place. */
import { GROUP_VERSION } from '../engine/schema/resources.js';
import { KubeClient, isNotFound } from '../watcher/kube/client.js';
import { CLI_FIELD_MANAGER, contextNamespace, loadKubeConfig, UsageError, type ConnectionFlags } from './kube.js';

export interface KillFlags extends ConnectionFlags {
  readonly namespace?: string;
  /** RFC 3339; default now. */
  readonly at?: string;
}

export async function kill(runName: string, flags: KillFlags): Promise<string> {
  const kc = loadKubeConfig(flags);
  const namespace = flags.namespace ?? contextNamespace(kc);
  const at = flags.at ? new Date(flags.at) : new Date();
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${flags.at} is not a time; use RFC 3339, e.g. 2026-11-21T10:00:00Z`);
  const client = new KubeClient(kc, CLI_FIELD_MANAGER);
  const ref = { apiVersion: GROUP_VERSION, kind: 'JobRun', metadata: { name: runName, namespace } };
  try {
    await client.mergePatch(ref, { spec: { killTimestamp: at.toISOString().replace(/\.\d{3}Z$/, 'Z') } });
  } catch (error) {
    if (isNotFound(error)) throw new UsageError(`no JobRun "${runName}" in namespace "${namespace}"; list them with: kubectl get jobruns -n ${namespace}`);
    throw error;
  }
  return `jobrun ${namespace}/${runName} will be killed at ${at.toISOString()}`;
}

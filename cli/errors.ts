/** Turning API errors into one line that says what is wrong and what to do. */
import { ApiError, isNotFound, type KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { API_GROUP, API_VERSION } from '../engine/schema/resources.js';
import { UsageError } from './usage.js';

/** Gets an object, or fails with a line that names what is missing and how to list what exists. */
export async function getOrExplain<T extends KubeObject>(client: KubeClient, apiVersion: string, kind: string, namespace: string, name: string): Promise<T> {
  try {
    return await client.get<T>(apiVersion, kind, namespace, name);
  } catch (error) {
    if (isNotFound(error) && !taskplaneCrdsMissing(error)) {
      throw new UsageError(`no ${kind} "${name}" in namespace "${namespace}"; list them with: kubectl get ${kind.toLowerCase()}s -n ${namespace}`);
    }
    throw error;
  }
}

/** A 404 from discovery of taskplane's API group: the cluster does not serve JobConfigs and JobRuns. */
function taskplaneCrdsMissing(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 404) return false;
  const discovery = `GET /apis/${API_GROUP}/${API_VERSION}:`;
  return error.message.startsWith(discovery) || error.message.includes(`in ${API_GROUP}/${API_VERSION} (is its CRD installed?)`);
}

/** The line printed for an error that reached the top. */
export function describeError(error: unknown): string {
  if (taskplaneCrdsMissing(error)) return 'the taskplane CRDs are not installed: apply dist/taskplane.k8s.yaml (TaskplaneCrds), e.g. kubectl apply -f dist/taskplane.k8s.yaml';
  if (error instanceof ApiError) {
    // The network error names the address, e.g. "connect ECONNREFUSED 127.0.0.1:6443".
    if (error.status === 0) return `cannot reach the cluster: ${error.message.replace(/^.*?: /, '')}; check --kubeconfig and --context`;
    if (error.status === 401) return 'the cluster did not accept the credentials; check the kubeconfig user';
    if (error.status === 403) return `the cluster denied access: ${error.message.replace(/^.*?: 403 /, '')}; ask for RBAC permission or use another --context`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Turning API errors into one line that says what is wrong and what to do. */
import { ApiError, isNotFound, type KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { UsageError } from './kube.js';

/** Gets an object, or fails with a line that names what is missing and how to list what exists. */
export async function getOrExplain<T extends KubeObject>(client: KubeClient, apiVersion: string, kind: string, namespace: string, name: string): Promise<T> {
  try {
    return await client.get<T>(apiVersion, kind, namespace, name);
  } catch (error) {
    if (isNotFound(error)) {
      throw new UsageError(`no ${kind} "${name}" in namespace "${namespace}"; list them with: kubectl get ${kind.toLowerCase()}s -n ${namespace}`);
    }
    throw error;
  }
}

/** The line printed for an error that reached the top. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    // The network error names the address, e.g. "connect ECONNREFUSED 127.0.0.1:6443".
    if (error.status === 0) return `cannot reach the cluster: ${error.message.replace(/^.*?: /, '')}; check --kubeconfig and --context`;
    if (error.status === 401) return 'the cluster did not accept the credentials; check the kubeconfig user';
    if (error.status === 403) return `the cluster denied access: ${error.message.replace(/^.*?: 403 /, '')}; ask for RBAC permission or use another --context`;
  }
  return error instanceof Error ? error.message : String(error);
}

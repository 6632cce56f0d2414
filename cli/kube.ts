/** Loading the kubeconfig the way kubectl does: --kubeconfig, then $KUBECONFIG, then ~/.kube/config or in-cluster. */
import { KubeConfig } from '@kubernetes/client-node';

export interface ConnectionFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export function loadKubeConfig(flags: ConnectionFlags): KubeConfig {
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromDefault();
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) throw new UsageError(`no context "${flags.context}" in the kubeconfig; see: kubectl config get-contexts`);
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster()) throw new UsageError('no cluster configured; pass --kubeconfig or set KUBECONFIG');
  return kc;
}

/** The namespace of the current context, as kubectl defaults it. */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

/** A mistake in how the command was called or configured: one line, exit code 2. */
export class UsageError extends Error {}

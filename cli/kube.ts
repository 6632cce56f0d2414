/** Loading the kubeconfig the way kubectl does: --kubeconfig, then $KUBECONFIG, then ~/.kube/config or in-cluster. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './usage.js';

/** The field manager of every write the CLI makes (runs, kills, schedule pauses). */
export const CLI_FIELD_MANAGER = 'taskplane-cli';

export interface ConnectionFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export function loadKubeConfig(flags: ConnectionFlags): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else {
      // With nothing to load, client-node would fall back to http://localhost:8080 and fail obscurely.
      const home = join(homedir(), '.kube', 'config');
      if (!process.env.KUBECONFIG && !process.env.KUBERNETES_SERVICE_HOST && !existsSync(home)) {
        throw new UsageError(`no kubeconfig: KUBECONFIG is not set, ${home} does not exist, and this is not a Pod in a cluster; pass --kubeconfig FILE or set KUBECONFIG`);
      }
      kc.loadFromDefault();
    }
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EISDIR') throw error;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'it is a directory';
    throw new UsageError(`cannot read the kubeconfig ${path ?? flags.kubeconfig ?? process.env.KUBECONFIG}: ${why}; pass --kubeconfig FILE or set KUBECONFIG`);
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) throw new UsageError(`no context "${flags.context}" in the kubeconfig; see: kubectl config get-contexts`);
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster()) throw new UsageError('the kubeconfig has no current context; pass --context NAME or run: kubectl config use-context NAME');
  return kc;
}

/** The namespace of the current context, as kubectl defaults it. */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

// Defined apart so that `taskplane --help` can report usage errors without loading the Kubernetes client.
export { UsageError } from './usage.js';

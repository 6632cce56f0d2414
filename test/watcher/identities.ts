/**
 * Acting as someone else on the real control plane: installing the watcher as Argo CD would, and
 * kubeconfigs that authenticate as a ServiceAccount with a token from the TokenRequest API (the
 * watcher's own, or a low-privilege user's).
 */
import { Chart, Testing } from 'cdk8s';
import { KubeConfig } from '@kubernetes/client-node';
import { WatcherInstall, type WatcherInstallProps } from '../../constructs/index.js';
import { parseTaskResources, type TaskResource } from '../../engine/task-kinds.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { apply, applyCrds, clients, kubeConfig } from '../cluster/client.js';
import { ARGOCD } from './helpers.js';

export interface Installed {
  readonly objects: KubeObject[];
  readonly name: string;
  readonly namespace: string;
  /** The allowlist the Deployment passes to the watcher (`--task-resources`), as the watcher parses it. */
  readonly taskResources: TaskResource[];
}

/** Synthesizes an install and applies it the way Argo CD would: CRDs first (until Established), then the rest in order. */
export async function install(props: Omit<WatcherInstallProps, 'image'>, extra: (chart: Chart) => void = () => {}): Promise<Installed> {
  const chart = new Chart(Testing.app(), 'platform');
  const watcher = new WatcherInstall(chart, 'watcher', { image: 'registry.example.com/platform/taskplane:0.1.0', ...props });
  extra(chart);
  const objects = chart.toJson() as KubeObject[];
  const crd = (o: KubeObject) => o.kind === 'CustomResourceDefinition';
  await applyCrds(objects.filter(crd) as never, { fieldManager: ARGOCD, force: true });
  await apply(objects.filter((o) => !crd(o)) as never, { fieldManager: ARGOCD, force: true });
  const deployment = objects.find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  const flag = deployment.spec.template.spec.containers[0]!.args.find((a) => a.startsWith('--task-resources='))!;
  const { resources, errors } = parseTaskResources(flag.slice(flag.indexOf('=') + 1));
  if (errors.length) throw new Error(`the install's ${flag} does not parse: ${errors.join('; ')}`);
  return { objects, name: watcher.name, namespace: watcher.namespace, taskResources: resources };
}

/** A kubeconfig that authenticates as the ServiceAccount, with a token from the TokenRequest API. */
export async function serviceAccountConfig(namespace: string, name: string): Promise<KubeConfig> {
  // No audiences: the API server's own (its --service-account-issuer), as for a mounted token.
  const review = await clients().core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = kubeConfig().getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: review.status!.token }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  return kc;
}

/**
 * What `*.cluster.test.ts` files use to talk to the control plane that global-setup.ts started:
 * a KubeConfig, typed clients, a unique namespace per file, server-side apply of YAML, and kubelet-style
 * pod status driving (there is no kubelet).
 */
import {
  ApiextensionsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1CustomResourceDefinition,
  type V1Pod,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { finishedStatus } from './kubelet.js';

/** Also set by global-setup, for child processes that tests spawn (they inherit the environment). */
export const KUBECONFIG_ENV = 'TASKPLANE_TEST_KUBECONFIG';

export interface ClusterInfo {
  kubeconfigPath: string;
  server: string;
  /** Pinned Kubernetes version the server must report. */
  version: string;
  etcdVersion: string;
  /** PID per component at start-up. */
  pids: Record<string, number>;
  logDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

/** The cluster global-setup started (vitest `inject('cluster')`). */
export function clusterInfo(): ClusterInfo {
  return inject('cluster');
}

export function kubeConfig(file: string = clusterInfo().kubeconfigPath): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  apiext: ApiextensionsV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
}

export function clients(kc: KubeConfig = kubeConfig()): Clients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/** A plain authenticated GET (health endpoints, /version, anything not covered by a typed client). */
export async function rawGet(urlPath: string, kc: KubeConfig = kubeConfig()): Promise<{ status: number; body: string }> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(urlPath, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    https.get(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Merge-patch content type: client-node 1.x defaults patches to JSON Patch. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace (KCM's namespace controller finishes it in the background). */
  delete(): Promise<void>;
}

/**
 * A fresh namespace `<prefix>-<random>`. Waits for its `default` ServiceAccount (made by KCM) so Pods can be
 * created right away; pass `waitForServiceAccount: false` when no controller manager runs.
 */
export async function createNamespace(
  prefix: string,
  { c = clients(), waitForServiceAccount = true } = {},
): Promise<TestNamespace> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
  await c.core.createNamespace({ body: { metadata: { name, labels: { 'taskplane.dev/test': 'true' } } } });
  if (waitForServiceAccount) {
    await waitUntil(`ServiceAccount ${name}/default`, () =>
      c.core.readNamespacedServiceAccount({ name: 'default', namespace: name }));
  }
  return { name, delete: async () => void (await c.core.deleteNamespace({ name })) };
}

export function parseYaml(text: string): KubernetesObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length) throw doc.errors[0];
    const obj = doc.toJS() as KubernetesObject | null;
    return obj ? [obj] : [];
  });
}

export interface ApplyOptions {
  fieldManager: string;
  /** Set metadata.namespace on objects that have none (cluster-scoped kinds ignore it: see below). */
  namespace?: string;
  dryRun?: boolean;
  /** Take over fields owned by other managers (conflicts are errors otherwise). */
  force?: boolean;
  c?: Clients;
}

/**
 * Server-side apply of each document, in order, as raw JSON. (client-node's KubernetesObjectApi
 * serializes known kinds through its typed models, which expect JS property names: wire keys such as
 * a CRD's `x-kubernetes-preserve-unknown-fields` or `enum` would be silently dropped.)
 * Returns what the server answered (dry-run: what it would store).
 */
export async function apply(docs: string | KubernetesObject[], opts: ApplyOptions): Promise<KubernetesObject[]> {
  const c = opts.c ?? clients();
  const client = new KubeClient(c.kc, opts.fieldManager);
  const objects = typeof docs === 'string' ? parseYaml(docs) : docs;
  const out: KubernetesObject[] = [];
  for (const obj of objects) {
    const spec = { ...obj, metadata: { ...obj.metadata } } as KubeObject;
    try {
      if (opts.namespace && !spec.metadata.namespace && (await client.namespaced(spec.apiVersion, spec.kind))) {
        spec.metadata.namespace = opts.namespace;
      }
      out.push((await client.apply(spec, undefined, { force: opts.force ?? false, dryRun: opts.dryRun ?? false })) as unknown as KubernetesObject);
    } catch (err) {
      throw new Error(`server-side apply${opts.dryRun ? ' (dry run)' : ''} of ${describe(obj)} failed: ${(err as Error).message}`);
    }
  }
  return out;
}

export function describe(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.apiVersion} ${obj.kind} ${ns}${obj.metadata?.name ?? obj.metadata?.generateName ?? '?'}`;
}


/** Applies CRDs and waits until each is Established (and its kinds are discoverable). */
export async function applyCrds(crds: KubernetesObject[], opts: ApplyOptions): Promise<void> {
  const c = opts.c ?? clients();
  await apply(crds, { ...opts, c });
  if (opts.dryRun) return;
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    await waitUntil(`CRD ${name} Established`, async () => {
      const got: V1CustomResourceDefinition = await c.apiext.readCustomResourceDefinition({ name });
      return got.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
    });
  }
}

export type TerminalPhase = 'Succeeded' | 'Failed';

/**
 * Does what a kubelet would when a Pod's containers run to completion: writes the status subresource with
 * phase, startTime, conditions and a terminated state (exit code) per container. No Node is needed.
 */
export async function finishPod(
  namespace: string,
  name: string,
  phase: TerminalPhase,
  { exitCode = phase === 'Succeeded' ? 0 : 1, message, c = clients() }: { exitCode?: number; message?: string; c?: Clients } = {},
): Promise<V1Pod> {
  const pod = await c.core.readNamespacedPod({ name, namespace });
  const status = finishedStatus({ spec: pod.spec, status: { startTime: pod.status?.startTime } }, phase, exitCode);
  // The termination message, as the kubelet reads it from /dev/termination-log (a task's result).
  if (message !== undefined) {
    for (const container of status.containerStatuses as { state: { terminated?: object } }[]) container.state.terminated = { ...container.state.terminated, message };
  }
  return c.core.patchNamespacedPodStatus({ name, namespace, body: { status } }, mergePatch);
}

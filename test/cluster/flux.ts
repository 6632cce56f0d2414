/**
 * Flux on a control plane: the real source-controller and kustomize-controller (built by
 * `bash test/cluster/build`, CRDs from their module sources), reading a Git repository served on loopback
 * (git-server.ts). Helpers create GitRepository/Kustomization objects, request reconciles the way
 * `flux reconcile` does, and wait for a Kustomization to reach a revision.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, clients, parseYaml, waitUntil } from './client.js';
import { BUILD_COMMAND, cacheDir, freePort, versions, type ControlPlane } from './harness.js';
import { httpGet } from './http.js';

export const FLUX_NAMESPACE = 'flux-system';
const SOURCE = 'source.toolkit.fluxcd.io/v1';
const KUSTOMIZE = 'kustomize.toolkit.fluxcd.io/v1';
/** The annotation `flux reconcile` sets; the controllers echo it in status.lastHandledReconcileAt. */
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface KustomizationObject extends KubeObject {
  spec: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    lastHandledReconcileAt?: string;
    inventory?: { entries: { id: string; v: string }[] };
    /** One entry per applied revision: how often it was reconciled and how the last one ended. */
    history?: { totalReconciliations: number; lastReconciledStatus: string }[];
  };
}

export function fluxBinaries(): { sourceController: string; kustomizeController: string; crds: string } {
  const dir = path.join(cacheDir(), `flux-${versions.flux}`);
  return {
    sourceController: path.join(dir, 'bin', 'source-controller'),
    kustomizeController: path.join(dir, 'bin', 'kustomize-controller'),
    crds: path.join(dir, 'crds'),
  };
}

export const condition = (obj: { status?: { conditions?: Condition[] } } | undefined, type: string): Condition | undefined =>
  obj?.status?.conditions?.find((c) => c.type === type);

export interface Flux {
  readonly client: KubeClient;
  /** A GitRepository in flux-system for `url` (branch main). */
  gitRepository(name: string, url: string, interval?: string): Promise<void>;
  /** Creates or updates (server-side apply) a Kustomization in flux-system. */
  kustomization(name: string, spec: Record<string, unknown>): Promise<void>;
  getKustomization(name: string): Promise<KustomizationObject>;
  /** How many reconciliations of this Kustomization kustomize-controller finished (its gotk_ metric). */
  reconciles(name: string): Promise<number>;
  /** What `flux reconcile source git` / `flux reconcile kustomization` do: annotate, wait until handled. */
  reconcile(kind: 'GitRepository' | 'Kustomization', name: string, timeoutMs?: number): Promise<void>;
  /**
   * Waits until the Kustomization attempted `revision` and its Ready condition has `ready` (and `reason`);
   * returns it.
   */
  waitForKustomization(name: string, want: { revision: string; ready?: 'True' | 'False' | 'Unknown'; reason?: string }, timeoutMs?: number): Promise<KustomizationObject>;
}

/** Applies the Flux CRDs, starts both controllers on `cp` (logs in cp.logs) and resolves when both are ready. */
export async function startFlux(cp: ControlPlane): Promise<Flux> {
  const bins = fluxBinaries();
  for (const bin of [bins.sourceController, bins.kustomizeController, bins.crds]) {
    if (!existsSync(bin)) throw new Error(`Flux ${versions.flux} is not built (${bin} is missing). Build it from the repo root with: ${BUILD_COMMAND}`);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const c = clients(kc);
  const crds = readdirSync(bins.crds).sort().flatMap((f) => parseYaml(readFileSync(path.join(bins.crds, f), 'utf8')));
  await applyCrds(crds, { fieldManager: 'flux-install', c });
  await c.core.createNamespace({ body: { metadata: { name: FLUX_NAMESPACE } } });

  const env = { KUBECONFIG: cp.kubeconfigPath, RUNTIME_NAMESPACE: FLUX_NAMESPACE };
  const storage = path.join(cp.dir, 'flux-storage');
  mkdirSync(storage);
  const [storagePort, sourceHealth, sourceMetrics, kustomizeHealth, kustomizeMetrics] =
    [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const readyz = (port: number) => async () => (await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200;
  await cp.addComponent({
    name: 'source-controller',
    binary: bins.sourceController,
    env,
    args: [
      '--enable-leader-election=false', '--watch-all-namespaces=true', '--log-level=info',
      `--storage-path=${storage}`, `--storage-addr=127.0.0.1:${storagePort}`, `--storage-adv-addr=127.0.0.1:${storagePort}`,
      `--health-addr=127.0.0.1:${sourceHealth}`, `--metrics-addr=127.0.0.1:${sourceMetrics}`,
    ],
    ready: readyz(sourceHealth),
  });
  await cp.addComponent({
    name: 'kustomize-controller',
    binary: bins.kustomizeController,
    env,
    args: [
      '--enable-leader-election=false', '--watch-all-namespaces=true', '--log-level=info',
      // A Kustomization whose dependency is not Ready yet retries after this (default 30 s).
      '--requeue-dependency=5s',
      `--health-addr=127.0.0.1:${kustomizeHealth}`, `--metrics-addr=127.0.0.1:${kustomizeMetrics}`,
    ],
    ready: readyz(kustomizeHealth),
  });

  const client = new KubeClient(kc, 'taskplane-test');
  const ref = (apiVersion: string, kind: string, name: string) => ({ apiVersion, kind, metadata: { name, namespace: FLUX_NAMESPACE } });
  const getKustomization = (name: string) => client.get<KustomizationObject>(KUSTOMIZE, 'Kustomization', FLUX_NAMESPACE, name);

  return {
    client,
    async gitRepository(name, url, interval = '1m') {
      await client.apply({ ...ref(SOURCE, 'GitRepository', name), spec: { url, interval, ref: { branch: 'main' } } } as KubeObject);
    },
    async kustomization(name, spec) {
      await client.apply({ ...ref(KUSTOMIZE, 'Kustomization', name), spec } as KubeObject);
    },
    getKustomization,
    async reconciles(name) {
      const { body } = await httpGet(`http://127.0.0.1:${kustomizeMetrics}/metrics`);
      const labels = `kind="Kustomization",name="${name}",namespace="${FLUX_NAMESPACE}"`;
      const line = body.split('\n').find((l) => l.startsWith('gotk_reconcile_duration_seconds_count{') && l.includes(labels));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    },
    async reconcile(kind, name, timeoutMs = 60_000) {
      const apiVersion = kind === 'GitRepository' ? SOURCE : KUSTOMIZE;
      const at = new Date().toISOString();
      await client.mergePatch(ref(apiVersion, kind, name), { metadata: { annotations: { [REQUESTED_AT]: at } } });
      await waitUntil(`${kind} ${name} to handle the reconcile request of ${at}`, async () => {
        const got = await client.get<KustomizationObject>(apiVersion, kind, FLUX_NAMESPACE, name);
        return got.status?.lastHandledReconcileAt === at;
      }, timeoutMs);
    },
    async waitForKustomization(name, want, timeoutMs = 90_000) {
      let last: KustomizationObject | undefined;
      const what = `Kustomization ${name} at ${want.revision}${want.ready ? ` with Ready=${want.ready}` : ''}${want.reason ? ` (${want.reason})` : ''}`;
      try {
        return await waitUntil(what, async () => {
          last = await getKustomization(name);
          const ready = condition(last, 'Ready');
          if (last.status?.lastAttemptedRevision !== want.revision) return undefined;
          // Ready=True from the previous revision can outlive the start of the next attempt.
          if (want.ready === 'True' && last.status?.lastAppliedRevision !== want.revision) return undefined;
          if (want.ready && ready?.status !== want.ready) return undefined;
          if (want.reason && ready?.reason !== want.reason) return undefined;
          return last;
        }, timeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status ?? null)}`);
      }
    },
  };
}

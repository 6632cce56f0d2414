/**
 * Argo CD on a control plane, in its "core" shape: the real application controller and repo server
 * (argo-cd's own commands in one binary, built by `bash test/cluster/build`, CRDs from the module
 * sources) and Debian's redis-server, all on 127.0.0.1; no API server, UI or Dex. Settings live where
 * Argo CD reads them: argocd-cm (tracking method, and the health checks a user adds with
 * `GitOpsHealthChecks`), argocd-secret, the `default` AppProject. Helpers create Applications, request
 * refreshes and syncs the way `argocd app get --refresh` / `argocd app sync` do, and read the resource
 * tree the controller keeps in Redis (what the UI and `argocd app resources` show).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { applyCrds, clients, parseYaml, waitUntil } from './client.js';
import { BUILD_COMMAND, cacheDir, freePort, versions, type ControlPlane } from './harness.js';
import { httpGet } from './http.js';

export const ARGOCD_NAMESPACE = 'argocd';
const ARGO_API = 'argoproj.io/v1alpha1';
/** The control plane's name as a cluster of Argo CD's: an Application's `destination.name`. */
export const CLUSTER_NAME = 'test-control-plane';
const REDIS_INSTALL = 'apt-get update && apt-get install -y redis-server';

export type TrackingMethod = 'label' | 'annotation';

export interface ArgoCdOptions {
  /** argocd-cm `application.resourceTrackingMethod` (Argo CD 3's default: annotation). */
  readonly trackingMethod: TrackingMethod;
}

export interface ResourceNode {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  parentRefs?: { group?: string; kind: string; namespace?: string; name: string; uid?: string }[];
  health?: { status?: string; message?: string };
}

export interface ApplicationObject extends KubeObject {
  spec: Record<string, unknown>;
  operation?: unknown;
  status?: {
    reconciledAt?: string;
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    resources?: { group?: string; kind: string; namespace?: string; name: string; status?: string; health?: { status?: string; message?: string }; requiresPruning?: boolean }[];
    operationState?: { phase?: string; message?: string; startedAt?: string; finishedAt?: string; operation?: { initiatedBy?: { username?: string; automated?: boolean }; sync?: { revision?: string } }; syncResult?: { resources?: { kind: string; name: string; status?: string; message?: string; syncPhase?: string }[] } };
    history?: { id: number; revision?: string; deployedAt?: string }[];
    conditions?: { type: string; message?: string }[];
  };
}

export function argoCdBinaries(): { core: string; crds: string } {
  const dir = path.join(cacheDir(), `argocd-${versions.argocd}`);
  return { core: path.join(dir, 'bin', 'argocd-core'), crds: path.join(dir, 'crds') };
}

export interface ArgoCd {
  readonly client: KubeClient;
  /** Server-side applies an object Argo CD's admin would (argocd-cm patches, e.g. the construct's), field manager `argocd-admin`. */
  configure(object: KubeObject): Promise<void>;
  /** Creates or updates (server-side apply) an Application in the argocd namespace. */
  application(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): Promise<void>;
  getApplication(name: string): Promise<ApplicationObject>;
  /** What `argocd app get --refresh` does: annotate, wait until the controller reconciled after it. */
  refresh(name: string, kind?: 'normal' | 'hard', timeoutMs?: number): Promise<ApplicationObject>;
  /** What `argocd app sync` does: sets `operation`, waits until its operationState finished; returns the Application. */
  sync(name: string, timeoutMs?: number): Promise<ApplicationObject>;
  /** The resource tree the controller cached in Redis for the Application (managed objects and their children). */
  resourceTree(name: string): Promise<ResourceNode[]>;
  /** How many syncs of the Application the controller finished (`argocd_app_sync_total` of its metrics). */
  syncs(name: string): Promise<number>;
}

/** Whether redis-server on 127.0.0.1:port answers PING. */
function redisPing(port: number): boolean {
  const out = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING'], { encoding: 'utf8' });
  return out.status === 0 && out.stdout.trim() === 'PONG';
}

function requireRedis(): void {
  for (const tool of ['redis-server', 'redis-cli']) {
    if (spawnSync(tool, ['--version']).error) throw new Error(`${tool} is not installed; Argo CD keeps its cache in Redis. Install it with: ${REDIS_INSTALL}`);
  }
}

/** Sums a Prometheus counter's samples whose labels include every `labels` pair. */
function counter(metrics: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Applies Argo CD's CRDs and settings, starts redis-server, the repo server and the application
 * controller on `cp` (logs in cp.logs) and resolves when all three are ready.
 */
export async function startArgoCd(cp: ControlPlane, options: ArgoCdOptions): Promise<ArgoCd> {
  const bins = argoCdBinaries();
  for (const bin of [bins.core, bins.crds]) {
    if (!existsSync(bin)) throw new Error(`Argo CD ${versions.argocd} is not built (${bin} is missing). Build it from the repo root with: ${BUILD_COMMAND}`);
  }
  requireRedis();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const c = clients(kc);
  const crds = readdirSync(bins.crds).sort().flatMap((f) => parseYaml(readFileSync(path.join(bins.crds, f), 'utf8')));
  await applyCrds(crds, { fieldManager: 'argocd-install', c });
  const client = new KubeClient(kc, 'argocd-install');
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ARGOCD_NAMESPACE } });
  // What Argo CD's install manifests create: the two settings objects (selected by this label) and the default project.
  const partOf = { 'app.kubernetes.io/part-of': 'argocd' };
  await client.apply({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'argocd-cm', namespace: ARGOCD_NAMESPACE, labels: { ...partOf, 'app.kubernetes.io/name': 'argocd-cm' } },
    data: { 'application.resourceTrackingMethod': options.trackingMethod, 'cluster.inClusterEnabled': 'false' },
  } as KubeObject);
  // server.secretkey is what argocd-server writes on its first start. Without it every later change of argocd-cm
  // fails to parse ("server.secretkey is missing") and never reaches the controller's live-state cache: the
  // resource tree would keep the health checks of the controller's start (none), while the Application's
  // health already used the new ones.
  await client.apply({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'argocd-secret', namespace: ARGOCD_NAMESPACE, labels: { ...partOf, 'app.kubernetes.io/name': 'argocd-secret' } },
    type: 'Opaque', stringData: { 'server.secretkey': randomBytes(32).toString('base64') },
  } as KubeObject);
  // The control plane as a cluster Secret (what `argocd cluster add` writes): Argo CD reaches "in-cluster"
  // (https://kubernetes.default.svc) only through a Pod's service-account environment, which these processes lack.
  const cluster = kc.getCurrentCluster()!;
  const user = kc.getCurrentUser()!;
  await client.apply({
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 'cluster-test-control-plane', namespace: ARGOCD_NAMESPACE, labels: { 'argocd.argoproj.io/secret-type': 'cluster' } },
    type: 'Opaque',
    stringData: { name: CLUSTER_NAME, server: cluster.server, config: JSON.stringify({ tlsClientConfig: { caData: cluster.caData, certData: user.certData, keyData: user.keyData } }) },
  } as KubeObject);
  await client.apply({
    apiVersion: ARGO_API, kind: 'AppProject', metadata: { name: 'default', namespace: ARGOCD_NAMESPACE },
    spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
  } as KubeObject);

  const [redisPort, repoPort, repoMetrics, controllerMetrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  await cp.addComponent({
    name: 'redis-server',
    binary: 'redis-server',
    args: ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    ready: async () => redisPing(redisPort),
  });
  // The repo server clones under TMPDIR and runs git-verify-wrapper.sh (copied next to the binary) from PATH;
  // GPG verification would need gpg and a keyring: off, as in most installs without it.
  const env = { KUBECONFIG: cp.kubeconfigPath, TMPDIR: cp.dir, ARGOCD_GPG_ENABLED: 'false', PATH: `${path.dirname(bins.core)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  const redis = `127.0.0.1:${redisPort}`;
  const healthz = (port: number) => async () => (await httpGet(`http://127.0.0.1:${port}/healthz`).catch(() => ({ status: 0 }))).status === 200;
  await cp.addComponent({
    name: 'argocd-repo-server',
    binary: bins.core,
    env,
    args: ['repo-server', '--address=127.0.0.1', `--port=${repoPort}`, '--metrics-address=127.0.0.1', `--metrics-port=${repoMetrics}`,
      `--redis=${redis}`, '--redis-compress=none',
      // --disable-tls refuses a client CA path, and the flag defaults to one (/app/config/reposerver/mtls/client-ca.crt).
      '--disable-tls', '--client-ca-path=', '--logformat=text', '--loglevel=info'],
    ready: healthz(repoMetrics),
  });
  await cp.addComponent({
    name: 'argocd-application-controller',
    binary: bins.core,
    env,
    args: ['application-controller', `--kubeconfig=${cp.kubeconfigPath}`, `--namespace=${ARGOCD_NAMESPACE}`,
      `--repo-server=127.0.0.1:${repoPort}`, '--repo-server-plaintext', `--redis=${redis}`, '--redis-compress=none',
      // Its metrics server binds 0.0.0.0 (not configurable); the tests only reach it on 127.0.0.1.
      `--metrics-port=${controllerMetrics}`, '--logformat=text', '--loglevel=info'],
    ready: healthz(controllerMetrics),
  });

  const app = (name: string) => ({ apiVersion: ARGO_API, kind: 'Application', metadata: { name, namespace: ARGOCD_NAMESPACE } });
  const getApplication = (name: string) => client.get<ApplicationObject>(ARGO_API, 'Application', ARGOCD_NAMESPACE, name);
  const admin = new KubeClient(kc, 'argocd-admin');
  let syncRequests = 0;

  return {
    client,
    async configure(object) {
      await admin.apply(object);
    },
    async application(name, spec, annotations) {
      await client.apply({ ...app(name), metadata: { ...app(name).metadata, ...(annotations ? { annotations } : {}) }, spec } as KubeObject);
    },
    getApplication,
    async refresh(name, kind = 'normal', timeoutMs = 90_000) {
      // reconciledAt has a resolution of one second.
      const requested = Math.floor(Date.now() / 1000) * 1000;
      await client.mergePatch(app(name), { metadata: { annotations: { 'argocd.argoproj.io/refresh': kind } } });
      return waitUntil(`Application ${name} refreshed (${kind})`, async () => {
        const got = await getApplication(name);
        const reconciled = Date.parse(got.status?.reconciledAt ?? '');
        // The controller removes the annotation once it compared again.
        return got.metadata.annotations?.['argocd.argoproj.io/refresh'] === undefined && reconciled >= requested ? got : undefined;
      }, timeoutMs);
    },
    async sync(name, timeoutMs = 90_000) {
      // startedAt has a resolution of one second, and a sync can take less: each request names itself.
      const username = `taskplane-test-${++syncRequests}`;
      const request = () => client.mergePatch(app(name), { operation: { initiatedBy: { username }, sync: { revision: 'main', syncStrategy: { hook: {} } } } });
      // Like `argocd app sync`, which refuses while another operation runs: ask only when none does. An
      // automated sync that starts at the same moment can replace the request; then it is asked again.
      return waitUntil(`Application ${name} synced by request ${username}`, async () => {
        const got = await getApplication(name);
        const state = got.status?.operationState;
        const ours = state?.operation?.initiatedBy?.username === username;
        if (!got.operation && ours && ['Succeeded', 'Failed', 'Error'].includes(state.phase ?? '')) return got;
        if (!got.operation && state?.phase !== 'Running' && !ours) await request();
        return undefined;
      }, timeoutMs);
    },
    async resourceTree(name) {
      const keys = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redisPort), '--raw', 'KEYS', `app|resources-tree|${name}|*`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      if (keys.length !== 1) throw new Error(`expected one resource tree for ${name} in Redis, found: ${JSON.stringify(keys)}`);
      const raw = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redisPort), '--raw', 'GET', keys[0]!], { encoding: 'utf8' });
      return (JSON.parse(raw) as { nodes?: ResourceNode[] }).nodes ?? [];
    },
    async syncs(name) {
      const { body } = await httpGet(`http://127.0.0.1:${controllerMetrics}/metrics`);
      return counter(body, 'argocd_app_sync_total', { name, namespace: ARGOCD_NAMESPACE });
    },
  };
}

/**
 * Nodes for a control plane: the real kube-scheduler binds Pods, KWOK's `kwok` plays the kubelet of a few
 * fake Nodes and moves each Pod through the Stages in kwok-pod-stages.yaml, steered per Pod by the
 * annotations below (put them in a task template). Needs kube-controller-manager for Jobs and the node
 * lifecycle; both binaries come from `bash test/cluster/build`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { httpGet } from './http.js';
import { BUILD_COMMAND, cacheDir, freePort, versions, type ControlPlane } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Pod annotations the KWOK stages read (kwok-pod-stages.yaml documents each). */
export const KWOK = {
  outcome: 'test.taskplane.dev/outcome',
  attempts: 'test.taskplane.dev/attempts',
  attempt: 'test.taskplane.dev/attempt',
  runTime: 'test.taskplane.dev/run-time',
  exitCode: 'test.taskplane.dev/exit-code',
} as const;

export type KwokOutcome = 'succeed' | 'fail' | 'oom' | 'evict' | 'pending';

/**
 * The annotations for a task template: `outcome` (on the attempts listed, every attempt by default; others
 * succeed) after `runTime` (a Go duration) of Running. Put them in the Pod template of every executor.
 */
export function kwokAnnotations(opts: { outcome?: KwokOutcome; attempts?: number[]; runTime?: string; exitCode?: number } = {}): Record<string, string> {
  return {
    [KWOK.attempt]: '${task.retry_index}',
    ...(opts.outcome ? { [KWOK.outcome]: opts.outcome } : {}),
    ...(opts.attempts ? { [KWOK.attempts]: opts.attempts.join(',') } : {}),
    ...(opts.runTime ? { [KWOK.runTime]: opts.runTime } : {}),
    ...(opts.exitCode !== undefined ? { [KWOK.exitCode]: String(opts.exitCode) } : {}),
  };
}

export function nodeBinaries(): { scheduler: string; kwok: string; kwokNodeStages: string } {
  const cache = cacheDir();
  const kwokDir = path.join(cache, `kwok-${versions.kwok}`);
  return {
    scheduler: path.join(cache, `kube-scheduler-${versions.kubernetes}`, 'bin', 'kube-scheduler'),
    kwok: path.join(kwokDir, 'bin', 'kwok'),
    kwokNodeStages: path.join(kwokDir, 'stages'),
  };
}

export interface NodesOptions {
  /** @default 3 (enough to show that the scheduler spreads Pods) */
  count?: number;
  /** Each Node's `pods` capacity. @default 110 (a kubelet's default) */
  podsPerNode?: number;
  /** How many Pod stage transitions KWOK plays at once (`podPlayStageParallelism`). @default 4 (KWOK's) */
  podStageParallelism?: number;
}

export interface Nodes {
  names: string[];
}

/** An HTTPS GET that does not check the certificate: the scheduler serves a self-signed one on loopback. */
function insecureStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** Starts kube-scheduler and kwok on `cp`, creates `count` fake Nodes and resolves once all are Ready. */
export async function startNodes(cp: ControlPlane, opts: NodesOptions = {}): Promise<Nodes> {
  const bins = nodeBinaries();
  for (const [name, bin] of [['kube-scheduler', bins.scheduler], ['kwok', bins.kwok]] as const) {
    if (!existsSync(bin)) throw new Error(`${name} is not built (${bin} is missing). Build it from the repo root with: ${BUILD_COMMAND}`);
  }
  const dir = path.join(cp.dir, 'nodes');
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'kwok.yaml');
  const nodeStages = readdirSync(bins.kwokNodeStages).sort().map((f) => readFileSync(path.join(bins.kwokNodeStages, f), 'utf8'));
  // A KwokConfiguration's unset parallelisms are 0, not KWOK's defaults: the others are given theirs (4, 4, 1).
  const options = opts.podStageParallelism
    ? [`apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  podPlayStageParallelism: ${opts.podStageParallelism}\n  nodePlayStageParallelism: 4\n  nodeLeaseParallelism: 4\n  podsOnNodeSyncParallelism: 1\n`]
    : [];
  writeFileSync(config, [...options, ...nodeStages, readFileSync(path.join(here, 'kwok-pod-stages.yaml'), 'utf8')].join('\n---\n'));

  const schedulerPort = await freePort();
  await cp.addComponent({
    name: 'kube-scheduler',
    binary: bins.scheduler,
    args: [
      `--kubeconfig=${cp.kubeconfigPath}`, `--authentication-kubeconfig=${cp.kubeconfigPath}`,
      `--authorization-kubeconfig=${cp.kubeconfigPath}`, '--leader-elect=false',
      '--bind-address=127.0.0.1', `--secure-port=${schedulerPort}`,
    ],
    ready: async () => (await insecureStatus(`https://127.0.0.1:${schedulerPort}/readyz`)) === 200,
  });
  const kwokPort = await freePort();
  await cp.addComponent({
    name: 'kwok',
    binary: bins.kwok,
    args: [
      `--kubeconfig=${cp.kubeconfigPath}`, `--config=${config}`,
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.0.0.1/24', '--node-ip=10.0.0.1', '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${kwokPort}`,
    ],
    ready: async () => (await httpGet(`http://127.0.0.1:${kwokPort}/healthz`)).status === 200,
  });

  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const names = Array.from({ length: opts.count ?? 3 }, (_, i) => `kwok-node-${i}`);
  for (const name of names) {
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
        },
        status: {
          allocatable: { cpu: '32', memory: '256Gi', pods: String(opts.podsPerNode ?? 110) },
          capacity: { cpu: '32', memory: '256Gi', pods: String(opts.podsPerNode ?? 110) },
        },
      },
    });
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const nodes = (await core.listNode()).items;
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (ready.length === names.length) break;
    if (Date.now() > deadline) {
      throw new Error(`KWOK nodes not Ready after 60 s: ${nodes.map((n) => `${n.metadata?.name}: ${JSON.stringify(n.status?.conditions ?? [])}`).join('; ')} (logs: ${cp.logs.kwok})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { names };
}

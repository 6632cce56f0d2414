/**
 * Bytes per cached task: heap (after a forced GC) that N Pods take in a cache, whole (as client-node's
 * informer keeps them, JSON-parsed), without managedFields (the task caches until 2026-11-30), and
 * trimmed by the task caches' transform (watcher/cached-task.ts). The Pod is a real one: the bench's
 * workload applied server-side to a test control plane, given a kubelet's Running status, read back;
 * each copy gets its own name, uid, resourceVersion and run, and is parsed from its own JSON text, as
 * the watcher parses list pages.
 *
 *     node --expose-gc --import tsx bench/cache-bytes.ts [N=20000]     (SHOW=1: print the trimmed Pod too)
 */
import { KubeConfig } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { LABEL_RUN } from '../engine/labels.js';
import { runningStatus } from '../test/cluster/kubelet.js';
import { startControlPlane } from '../test/cluster/harness.js';
import { cachedTask, withoutManagedFields } from '../watcher/cached-task.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { canonical, NAMESPACE, plainJob, podSpec } from './workload.js';

const n = Number(process.argv[2] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const livePod = await (async () => {
  const cp = await startControlPlane({ tether: true });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const client = new KubeClient(kc, 'argocd-controller');
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    const pod = canonical(plainJob(0, 1, 0).tasks[0]!) as unknown as KubeObject;
    await client.apply(pod, undefined, {});
    const kubelet = new KubeClient(kc, 'kubelet');
    await kubelet.mergePatch(pod, { status: runningStatus({ spec: podSpec(0) }) }, 'status');
    return JSON.stringify(await client.get<KubeObject>('v1', 'Pod', NAMESPACE, pod.metadata.name));
  } finally {
    await cp.stop();
  }
})();

/** Heap bytes per object kept by `keep` over N fresh parses of distinct Pods. */
function bytesPerTask(keep: (object: KubeObject) => KubeObject): number {
  const template = JSON.parse(livePod) as KubeObject;
  // Each copy's text is made and parsed in turn: only what the cache keeps survives the GC below.
  const text = (i: number) => {
    const run = `job-${String(Math.floor(i / 100)).padStart(4, '0')}-r1`;
    template.metadata.name = `${run}-${i % 100}-0`;
    template.metadata.uid = randomUUID();
    template.metadata.resourceVersion = String(100_000 + i);
    template.metadata.labels = { ...template.metadata.labels, [LABEL_RUN]: run };
    return JSON.stringify(template);
  };
  const cache = new Map<string, KubeObject>();
  gc!();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    const object = keep(JSON.parse(text(i)) as KubeObject);
    cache.set(object.metadata.name, object);
  }
  gc!();
  const bytes = (process.memoryUsage().heapUsed - before) / n;
  if (cache.size !== n) throw new Error('lost objects');
  return bytes;
}

const pod = cachedTask('v1', 'Pod');
const rows: [string, number][] = [
  ['whole (JSON.parse)', bytesPerTask((o) => o)],
  ['without managedFields', bytesPerTask(withoutManagedFields)],
  ['trimmed (cached-task.ts)', bytesPerTask(pod)],
];
if (process.env.SHOW) console.log(JSON.stringify(pod(JSON.parse(livePod) as KubeObject), null, 1));
console.log(`live Pod JSON: ${livePod.length} bytes; trimmed: ${JSON.stringify(pod(JSON.parse(livePod) as KubeObject)).length} bytes; ${n} Pods each`);
for (const [name, bytes] of rows) console.log(`${name.padEnd(26)} ${(bytes / 1024).toFixed(2)} KiB per cached Pod`);
process.exit(0);

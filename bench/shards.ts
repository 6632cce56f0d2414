/**
 * Sharding: the same stream with one watcher (`--shards 1`) and with two (`--shards 2`, one process
 * per shard), against one control plane (test/cluster/harness.ts). Each setup gets its own runs, of
 * the same shape, in the workload's namespace (its substitutions name it), and its own Lease names
 * (Rendered, Pods applied as Argo CD would), then every Pod is finished (status
 * writes as a kubelet would, 32 in flight) and the time until every run's status says Succeeded is
 * taken. Reported: task transitions per second for each setup and their ratio, and per watcher
 * process its CPU seconds, reconciles and resident memory (read from its own /metrics), so the CPU
 * split between the two shards shows, and that memory is not split.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { jobConfigCrd, jobRunCrd } from '../engine/schema/crd.js';
import { shardOf } from '../engine/shards.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { finishedStatus } from '../test/cluster/kubelet.js';
import { freePort, startControlPlane } from '../test/cluster/harness.js';
import { httpGet } from '../test/cluster/http.js';
import { metricValue } from '../test/watcher/helpers.js';
import { configName, NAMESPACE, plainJob } from './workload.js';
import { fmtRatio, median, REPO_ROOT, sleep, table, wallMs } from './util.js';

export interface ShardProcess {
  readonly shardsHeld: number;
  readonly cpuSeconds: number;
  readonly reconciles: number;
  readonly rssMB: number;
}

export interface ShardSetup {
  readonly shards: number;
  readonly transitions: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Configs per shard in this setup's namespace (the hash decides). */
  readonly split: readonly number[];
  readonly processes: readonly ShardProcess[];
}

export interface ShardsBenchResult {
  readonly configs: number;
  readonly tasksPerRun: number;
  readonly setups: readonly ShardSetup[];
  /** Two shards' transitions per second over one shard's, per repetition. */
  readonly ratios: readonly number[];
}

const CONCURRENCY = 32;

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function runShardsBench(opts: { configs: number; tasksPerRun: number; reps: number; log: (line: string) => void }): Promise<ShardsBenchResult> {
  const { log } = opts;
  const cp = await startControlPlane({ tether: true });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc, 'argocd-controller');
  const children: number[] = [];
  try {
    for (const crd of [jobConfigCrd(), jobRunCrd()]) await client.apply(crd as never);
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    // A first setup, not reported: the first runs on an empty API server went twice as fast as any after.
    await runSetup(client, cp.kubeconfigPath, 1, 0, opts, children);
    const setups: ShardSetup[] = [];
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const shards of [1, 2]) {
        const setup = await runSetup(client, cp.kubeconfigPath, shards, setups.length + 1, opts, children);
        log(`  ${shards} shard(s): ${setup.perSecond.toFixed(0)} transitions/s; CPU ${setup.processes.map((p) => `${p.cpuSeconds.toFixed(1)} s`).join(' + ')}`);
        setups.push(setup);
      }
    }
    const ratios = Array.from({ length: opts.reps }, (_, rep) => setups[rep * 2 + 1]!.perSecond / setups[rep * 2]!.perSecond);
    return { configs: opts.configs, tasksPerRun: opts.tasksPerRun, setups, ratios };
  } finally {
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await cp.stop();
  }
}

async function runSetup(
  client: KubeClient,
  kubeconfig: string,
  shards: number,
  setup: number,
  opts: { configs: number; tasksPerRun: number; log: (line: string) => void },
  children: number[],
): Promise<ShardSetup> {
  const namespace = NAMESPACE;
  const urls: string[] = [];
  const pids: number[] = [];
  const logs = mkdtempSync(join(tmpdir(), 'taskplane-bench-shards-'));
  opts.log(`  ${shards} shard(s): watcher logs in ${logs}`);
  for (let i = 0; i < shards; i++) {
    const port = await freePort();
    const args = ['bin/taskplane.mjs', 'watch', '--kubeconfig', kubeconfig, '-n', namespace, '--metrics-address', `127.0.0.1:${port}`, '--log-level', 'warn'];
    const election = ['--leader-elect=true', '--lease-namespace', namespace, '--lease-name', `bench-${setup}`, '--identity', `w${i}`, '--shards', String(shards)];
    const logFile = join(logs, `setup-${setup}-w${i}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...args, ...election], { cwd: REPO_ROOT, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.push(child.pid!);
    pids.push(child.pid!);
    urls.push(`http://127.0.0.1:${port}`);
  }
  const scrape = async (url: string, name: string) => metricValue((await httpGet(`${url}/metrics`)).body, name);
  await until('every shard held, one per process', async () => {
    for (const url of urls) if ((await scrape(url, 'taskplane_shards_held')) !== 1) return false;
    return true;
  }, 120_000);

  const indexes = Array.from({ length: opts.configs }, (_, i) => setup * opts.configs + i);
  const jobs = indexes.map((i) => plainJob(i, opts.tasksPerRun));
  await pool(jobs.flatMap((job) => [job.config, job.run, ...job.tasks] as unknown as KubeObject[]), CONCURRENCY, (object) => client.apply(object));
  const names = new Set(jobs.map((job) => job.run.metadata.name));
  const runs = async () => (await client.list<KubeObject & { status?: { phase?: string; tasks?: unknown[] } }>('taskplane.dev/v1alpha1', 'JobRun', {}, namespace)).items.filter((r) => names.has(r.metadata.name));
  await until('every task seen by the watchers', async () => (await runs()).every((r) => r.status?.tasks?.length === opts.tasksPerRun), 300_000).catch(async (error: Error) => {
    const sample = (await runs()).find((r) => r.status?.tasks?.length !== opts.tasksPerRun);
    throw new Error(`${error.message}; e.g. ${sample?.metadata.name}: ${JSON.stringify(sample?.status).slice(0, 1000)}`);
  });

  const cpuBefore = await Promise.all(urls.map((url) => scrape(url, 'taskplane_watcher_process_cpu_seconds_total')));
  const reconcilesBefore = await Promise.all(urls.map((url) => scrape(url, 'taskplane_reconciles_total')));
  const pods = jobs.flatMap((job) => job.tasks as unknown as KubeObject[]);
  const start = wallMs();
  await pool(pods, CONCURRENCY, (pod) => client.mergePatch(pod, { status: finishedStatus(pod as never, 'Succeeded') }, 'status'));
  await until('every run Succeeded', async () => (await runs()).every((r) => r.status?.phase === 'Succeeded'), 600_000);
  const seconds = (wallMs() - start) / 1000;
  const processes = await Promise.all(
    urls.map(async (url, i) => ({
      shardsHeld: await scrape(url, 'taskplane_shards_held'),
      cpuSeconds: (await scrape(url, 'taskplane_watcher_process_cpu_seconds_total')) - cpuBefore[i]!,
      reconciles: (await scrape(url, 'taskplane_reconciles_total')) - reconcilesBefore[i]!,
      rssMB: (await scrape(url, 'taskplane_watcher_process_resident_memory_bytes')) / 2 ** 20,
    })),
  );
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const transitions = pods.length;
  const split = Array.from({ length: shards }, (_, shard) => indexes.filter((i) => shardOf(namespace, configName(i), shards) === shard).length);
  return { shards, transitions, seconds, perSecond: transitions / seconds, split, processes };
}

export function shardsReport(r: ShardsBenchResult): string {
  const rows = r.setups.map((setup) => [
    `${setup.shards} (${setup.split.join(' + ')} configs)`,
    `${setup.perSecond.toFixed(0)}/s (${setup.seconds.toFixed(1)} s)`,
    setup.processes.map((p) => `${p.cpuSeconds.toFixed(1)} s`).join(' + '),
    setup.processes.map((p) => String(p.reconciles)).join(' + '),
    setup.processes.map((p) => `${p.rssMB.toFixed(0)} MB`).join(' + '),
  ]);
  return [
    '## Sharding',
    `${r.configs} Rendered runs × ${r.tasksPerRun} Pod tasks per setup (new runs for each, on one control plane): one watcher process (\`--shards 1\`), or two (\`--shards 2\`, one shard each; each setup its own Leases). ` +
      `Every Pod is then finished (status writes, ${CONCURRENCY} in flight) and the time until every run says Succeeded is taken. Per process: CPU seconds and reconciles over that phase, resident memory at its end (the processes' own /metrics). ` +
      `On this machine the watchers, the driver, etcd and kube-apiserver share the cores: the ratio shows the split, not the speed-up of a bigger machine (docs/watcher.md, "Sharding").`,
    table(['shards', 'transitions/s', 'CPU per process', 'reconciles per process', 'RSS per process'], rows),
    `Two shards over one, per repetition: ${r.ratios.map(fmtRatio).join(', ')} (median ${fmtRatio(median(r.ratios))}).`,
  ].join('\n\n');
}

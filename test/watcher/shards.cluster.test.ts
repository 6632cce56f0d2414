/**
 * Sharded watchers on the real control plane (`--shards 2`, one Lease per shard, short Lease timings):
 *   - two watcher processes split the runs by their JobConfig's shard, each creating only its own
 *     runs' tasks (their logs and metrics say so); one is killed with SIGKILL and the survivor takes
 *     its shard over within the lease duration and carries its runs on, every attempt created once;
 *   - a replica joining later is handed its share, and hands it back when it stops, many times over,
 *     while runs are reconciled all along: never one run reconciled by both replicas at once.
 */
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Materialization, Parallelism, TaskTemplate } from '../../constructs/index.js';
import { jobConfigCrd, jobRunCrd } from '../../engine/schema/crd.js';
import type { KubeObject } from '../../watcher/kube/client.js';
import { createMetrics } from '../../watcher/metrics.js';
import { shardOf } from '../../engine/shards.js';
import { applyCrds, clusterInfo, createNamespace, finishPod, waitUntil, type TestNamespace } from '../cluster/client.js';
import { httpGet } from '../cluster/http.js';
import { applyAsGitOps, ARGOCD, listTasks, metricValue, podTask, registryValue, spawnWatcher, startWatcher, synthRun, testClient, waitForRun, type WatcherProcess } from './helpers.js';

const client = testClient();
const LEASE = 'tp-watcher';
const TIMINGS = { leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 };
let ns: TestNamespace;
let cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await applyCrds([jobConfigCrd(), jobRunCrd()] as never, { fieldManager: ARGOCD, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
  await ns?.delete();
});

type LeaseObject = KubeObject & { spec: { holderIdentity?: string; renewTime?: string; acquireTime?: string } };
const shardLease = (shard: number) => client.get<LeaseObject>('coordination.k8s.io/v1', 'Lease', ns.name, `${LEASE}-shard-${shard}`);
const holders = async () => Promise.all([0, 1].map(async (shard) => (await shardLease(shard).catch(() => undefined))?.spec.holderIdentity));

/** `count` config names per shard of 2 in the test namespace (the hash decides; the names are searched for). */
function configsPerShard(count: number): [string[], string[]] {
  const found: [string[], string[]] = [[], []];
  for (let i = 0; found[0].length < count || found[1].length < count; i++) {
    const name = `job${i}`;
    const shard = shardOf(ns.name, name, 2);
    if (found[shard]!.length < count) found[shard]!.push(name);
  }
  return found;
}

/** Deferred runs (the watcher creates every attempt), one per config, `indexes` tasks each. */
async function applyRuns(configs: string[], indexes: number, maxAttempts: number): Promise<void> {
  for (const name of configs) {
    const { config, run } = synthRun(ns.name, { name, maxAttempts, parallelism: Parallelism.withCount(indexes), task: TaskTemplate.pod({ spec: podTask() }) }, (j) =>
      j.run('r1', { materialization: Materialization.DEFERRED }),
    );
    await applyAsGitOps([config, run]);
  }
}

const podsOf = async (config: string) => (await listTasks(client, ns.name, 'v1', 'Pod', `${config}-r1`)).map((p) => p.metadata.name);

/** The tasks a watcher process logged as created (pino JSON lines), by name. */
function createdIn(process: WatcherProcess): string[] {
  return process
    .output()
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      const entry = JSON.parse(line) as { msg?: string; task?: string };
      return entry.msg === 'created task' ? [entry.task!] : [];
    });
}

const scrape = async (process: WatcherProcess, name: string, labels: Record<string, string> = {}) => metricValue((await httpGet(`${process.url}/metrics`)).body, name, labels);

describe('two watcher processes with --shards 2', () => {
  const INDEXES = 5;

  it(`split the runs by shard; after a kill -9 the survivor takes the dead one's shard within the lease duration and carries its runs on, each of ${INDEXES} indexes of 4 runs getting attempts 0 and 1 exactly once`, { timeout: 240_000 }, async () => {
    ns = await createNamespace('tp-shards', { waitForServiceAccount: false });
    const spawn = async (identity: string) => {
      const child = await spawnWatcher({
        kubeconfig: clusterInfo().kubeconfigPath,
        namespace: ns.name,
        args: [
          '--leader-elect=true', '--lease-namespace', ns.name, '--lease-name', LEASE, '--identity', identity, '--shards', '2',
          '--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms',
        ],
      });
      cleanups.push(() => child.kill());
      return child;
    };
    const a = await spawn('a');
    await waitUntil('a holds both shards alone', async () => (await holders()).every((h) => h === 'a'), 60_000);
    const b = await spawn('b');
    // b asks for a shard on a's Lease; a hands one over.
    await waitUntil('one shard each', async () => (await holders()).sort().join() === 'a,b' && (await scrape(a, 'taskplane_shards_held')) === 1 && (await scrape(b, 'taskplane_shards_held')) === 1, 60_000);
    const owner = await holders();
    const processes = { a, b } as Record<string, WatcherProcess>;

    const configs = configsPerShard(2);
    await applyRuns(configs.flat(), INDEXES, 2);
    const firstAttempts = (config: string) => Array.from({ length: INDEXES }, (_, i) => `${config}-r1-${i}-0`);
    for (const config of configs.flat()) await waitUntil(`first attempts of ${config}`, async () => (await podsOf(config)).length === INDEXES, 60_000);

    // Each process created exactly its own shard's tasks, and reconciled only its own shard.
    for (const shard of [0, 1]) {
      const mine = processes[owner[shard]!]!;
      expect(createdIn(mine).sort()).toEqual(configs[shard]!.flatMap(firstAttempts).sort());
      expect(await scrape(mine, 'taskplane_shard_reconciles_total', { shard: String(1 - shard) })).toBe(0);
      expect(await scrape(mine, 'taskplane_shard_reconciles_total', { shard: String(shard) })).toBeGreaterThan(0);
    }

    // kill -9 the holder of shard 0; every first attempt fails, so every index needs attempt 1.
    const victim = processes[owner[0]!]!;
    const survivor = processes[owner[1]!]!;
    const gainedBefore = await scrape(survivor, 'taskplane_shard_transitions_total', { shard: '0', change: 'gained' });
    const lastRenewal = Date.parse((await shardLease(0)).spec.renewTime!);
    await victim.kill();
    for (const config of configs.flat()) for (const pod of firstAttempts(config)) await finishPod(ns.name, pod, 'Failed');
    await waitUntil('the survivor holds both shards', async () => (await scrape(survivor, 'taskplane_shards_held')) === 2, 60_000);
    const taken = await shardLease(0);
    expect(taken.spec.holderIdentity).toBe(owner[1]);
    // Taken over once the Lease expired (3 s after the last renewal), at the next of the survivor's
    // ticks (every 500 ms; two allowed, and a second for a loaded machine): the Lease's own timestamps.
    expect(Date.parse(taken.spec.acquireTime!) - lastRenewal).toBeLessThan(3000 + 2 * 500 + 1000);

    for (const config of configs.flat()) {
      await waitUntil(`retries of ${config}`, async () => (await podsOf(config)).length === 2 * INDEXES, 60_000);
      for (let i = 0; i < INDEXES; i++) await finishPod(ns.name, `${config}-r1-${i}-1`, 'Succeeded');
    }
    for (const config of configs.flat()) {
      const run = await waitForRun(client, ns.name, `${config}-r1`, 'Succeeded', (r) => r.status?.phase === 'Succeeded', 60_000);
      expect(run.status!.tasks!.map((t) => `${t.name}:${t.retryIndex}`).sort()).toEqual(
        Array.from({ length: INDEXES }, (_, i) => [`${config}-r1-${i}-0:0`, `${config}-r1-${i}-1:1`]).flat().sort(),
      );
      expect((await podsOf(config)).sort()).toEqual(Array.from({ length: INDEXES }, (_, i) => [`${config}-r1-${i}-0`, `${config}-r1-${i}-1`]).flat().sort());
    }
    // Every create, by either process, once; the dead one's runs went on in the survivor.
    const created = [...createdIn(victim), ...createdIn(survivor)];
    expect(created.length).toBe(new Set(created).size);
    expect(createdIn(survivor)).toEqual(expect.arrayContaining(configs[0]!.map((config) => `${config}-r1-0-1`)));
    expect(await scrape(survivor, 'taskplane_shard_transitions_total', { shard: '0', change: 'gained' })).toBe(gainedBefore + 1);
  });
});

describe('a replica joining later', () => {
  const CYCLES = 8;
  const INDEXES = 20;

  it(`is handed its share and hands it back when it stops, ${CYCLES} times, while runs are reconciled all along: never one run reconciled by both replicas at once; a third replica for two shards is a ready standby`, { timeout: 300_000 }, async () => {
    ns = await createNamespace('tp-handover', { waitForServiceAccount: false });
    // Both replicas log into one list, in the order things happen (one process, synchronous writes).
    const log: { who: string; msg: string; key?: string; shard?: number }[] = [];
    const logger = (who: string) => pino({ level: 'debug' }, { write: (line: string) => void log.push({ who, ...(JSON.parse(line) as { msg: string }) }) });
    const replica = async (who: string) => {
      const metrics = createMetrics();
      const watcher = await startWatcher({ namespace: ns.name, metrics, logger: logger(who), leaderElection: { namespace: ns.name, name: LEASE, identity: who, shards: 2, ...TIMINGS } });
      cleanups.push(() => watcher.stop());
      return { watcher, metrics };
    };
    const a = await replica('a');
    await waitUntil('a holds both shards', async () => a.watcher.heldShards.length === 2, 30_000);

    const configs = configsPerShard(2).flat();
    await applyRuns(configs, INDEXES, 1);
    // Pods change all along (as a kubelet's status updates would): every change is a reconcile of its run.
    let churning = true;
    const churn = (async () => {
      for (let round = 0; churning; round++) {
        for (const config of configs) {
          for (const pod of await podsOf(config)) {
            if (!churning) return;
            await client.mergePatch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: ns.name } }, { metadata: { annotations: { round: String(round) } } }).catch(() => undefined);
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    cleanups.push(async () => {
      churning = false;
      await churn;
    });

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const b = await replica(`b${cycle}`);
      await waitUntil(`cycle ${cycle}: b holds one shard`, async () => b.watcher.heldShards.length === 1 && a.watcher.heldShards.length === 1, 30_000);
      const [shard] = b.watcher.heldShards;
      await waitUntil(`cycle ${cycle}: b reconciles shard ${shard}`, async () => (await registryValue(b.metrics, 'taskplane_shard_reconciles_total', { shard: String(shard) })) > 0, 30_000);
      await b.watcher.stop();
      await waitUntil(`cycle ${cycle}: a holds both again`, async () => a.watcher.heldShards.length === 2, 30_000);
    }

    // Three replicas for two shards: one is a standby, holding nothing and ready; nothing moves while all live.
    const [b, c] = [await replica('b'), await replica('c')];
    await waitUntil('two shards held by two replicas', async () => [a, b, c].filter((r) => r.watcher.heldShards.length === 1).length === 2, 30_000);
    const transitions = async () => {
      let total = 0;
      for (const r of [a, b, c]) total += await registryValue(r.metrics, 'taskplane_shard_transitions_total');
      return total;
    };
    const before = await transitions();
    await new Promise((r) => setTimeout(r, 4 * TIMINGS.retryPeriodMs + TIMINGS.leaseDurationSeconds * 1000));
    const standby = [a, b, c].filter((r) => r.watcher.heldShards.length === 0);
    expect(standby).toHaveLength(1);
    expect(standby[0]!.watcher.readiness()).toEqual([]);
    expect(await transitions()).toBe(before);
    churning = false;
    await churn;

    // Replay the log: a replica beginning a reconcile of a key the other one has not finished is the failure.
    const active = new Map<string, string>();
    const overlaps: string[] = [];
    let reconciles = 0;
    for (const entry of log) {
      if (entry.msg === 'reconcile begins') {
        reconciles++;
        const other = active.get(entry.key!);
        if (other && other !== entry.who) overlaps.push(`${entry.key} begun by ${entry.who} while ${other} reconciles it`);
        active.set(entry.key!, entry.who);
      } else if (entry.msg === 'reconcile ends' && active.get(entry.key!) === entry.who) active.delete(entry.key!);
    }
    expect(overlaps).toEqual([]);
    const began = new Set(log.filter((e) => e.msg === 'reconcile begins').map((e) => e.who));
    for (const who of ['a', ...Array.from({ length: CYCLES }, (_, i) => `b${i}`)]) expect(began, who).toContain(who);
    const handOvers = log.filter((e) => e.who === 'a' && e.msg === 'handed a shard over').length;
    // One per cycle, and one to the first of the last two replicas.
    expect(handOvers).toBe(CYCLES + 1);
    expect(reconciles).toBeGreaterThan(CYCLES * 10);
    // Each first attempt was created once, whoever held its shard.
    const created = log.filter((e) => e.msg === 'created task');
    expect(created.length).toBe(configs.length * INDEXES);
    for (const config of configs) expect((await podsOf(config)).length).toBe(INDEXES);
  });
});

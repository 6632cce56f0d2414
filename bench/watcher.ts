/**
 * Watcher throughput against a real control plane (etcd + kube-apiserver from test/cluster/harness.ts,
 * on loopback), with the watcher as a child process (`taskplane watch`) and two measuring children
 * (bench/observer.ts): a bare client-node informer on the same Pods (the floor) and a reader of the
 * watcher's JobRun statuses. This process plays Argo CD (server-side apply of Rendered runs) and
 * kubelet (Pod status writes), paced at fixed rates or as fast as it can.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { jobConfigCrd, jobRunCrd } from '../engine/schema/crd.js';
import { finishedStatus, runningStatus } from '../test/cluster/kubelet.js';
import { kwokAnnotations, startNodes } from '../test/cluster/nodes.js';
import { freePort, startControlPlane, type ControlPlane } from '../test/cluster/harness.js';
import type { TaskMatch } from './observer.js';
import { canonical, NAMESPACE, plainJob, podSpec, runName } from './workload.js';
import { median, quantile, REPO_ROOT, sleep, wallMs } from './util.js';
import { httpGet } from '../test/cluster/http.js';

const NS = NAMESPACE;
const ARGOCD = 'argocd-controller';
const KUBELET = 'kubelet';

// ---------- a small API client with keep-alive (the driver must not be the bottleneck) ----------

class Api {
  private constructor(
    private readonly server: URL,
    private readonly agent: Agent,
  ) {}

  static async from(kc: KubeConfig): Promise<Api> {
    const opts: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    await kc.applyToHTTPSOptions(opts as never);
    // One pooled agent: client-node hands out a fresh agent (a new TLS connection) per request.
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: opts.ca, cert: opts.cert, key: opts.key });
    return new Api(new URL(kc.getCurrentCluster()!.server), agent);
  }

  request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          method,
          hostname: this.server.hostname,
          port: this.server.port,
          path,
          agent: this.agent,
          headers: { Accept: 'application/json', ...(payload !== undefined && { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
            else resolve((text ? JSON.parse(text) : undefined) as T);
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Server-side apply, as Argo CD does with ServerSideApply=true. */
  apply(collection: string, object: { metadata: { name: string } }, fieldManager: string): Promise<unknown> {
    return this.request('PATCH', `${collection}/${object.metadata.name}?fieldManager=${fieldManager}&force=true`, object, 'application/apply-patch+yaml');
  }

  /** What a kubelet writes: the Pod's status subresource. */
  podStatus(name: string, status: unknown): Promise<unknown> {
    return this.request('PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status?fieldManager=${KUBELET}`, { status }, 'application/merge-patch+json');
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------- child processes ----------

class Observer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: { at: number; value: unknown }) => void; reject: (e: Error) => void }>();
  private stderr = '';

  private constructor(
    readonly mode: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { id: number; at: number; value: unknown; error?: string };
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message);
    });
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    child.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`observer ${mode} exited (${code ?? signal}): ${this.stderr.slice(-500)}`));
      this.pending.clear();
    });
  }

  static start(mode: 'pods' | 'runs', kubeconfig: string): Observer {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/observer.ts', mode, kubeconfig, NS], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    return new Observer(mode, child);
  }

  /** Resolves with when the condition held, or undefined after `timeoutMs`. */
  ask(request: Record<string, unknown>, timeoutMs = 600_000): Promise<{ at: number; value: unknown } | undefined> {
    const id = this.nextId++;
    const answer = new Promise<{ at: number; value: unknown }>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.child.stdin!.write(`${JSON.stringify({ id, ...request })}\n`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }
}

/** VmHWM (peak RSS) and VmRSS of a process, in MB. */
function memory(pid: number): { peakMB: number; rssMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMB: kb('VmHWM') / 1024, rssMB: kb('VmRSS') / 1024 };
}

/** Busy and all clock ticks of the whole machine so far (/proc/stat): busy is everything but idle and iowait. */
function machineTicks(): { busy: number; all: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const all = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: all - ticks[3]! - ticks[4]!, all };
}

/** User + system CPU seconds a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime and stime are fields 14 and 15 of stat (12 and 13 after the comm field), in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds etcd and kube-apiserver have used so far. */
function controlPlaneCpu(cp: ControlPlane): number {
  return (['etcd', 'kube-apiserver'] as const).reduce((sum, name) => sum + cpuSeconds(cp.pids()[name]!), 0);
}


/** The samples of one metric in a Prometheus text exposition. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    out.push({ labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!])), value: Number(m[3]) });
  }
  return out;
}

const metricSum = (text: string, name: string) => samples(text, name).reduce((sum, s) => sum + s.value, 0);

const WRITE_VERBS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

interface WatcherCounters {
  /** Writes by `VERB resource`, e.g. `POST events`. */
  writesBy: Record<string, number>;
  writes: number;
  requests: number;
  transitions: number;
  reconciles: number;
}

async function watcherCounters(metricsUrl: string): Promise<WatcherCounters> {
  const text = (await httpGet(`${metricsUrl}/metrics`)).body;
  const writesBy: Record<string, number> = {};
  let requests = 0;
  for (const { labels, value } of samples(text, 'taskplane_api_requests_total')) {
    requests += value;
    const key = `${labels.verb} ${labels.resource}`;
    if (WRITE_VERBS.has(labels.verb ?? '')) writesBy[key] = (writesBy[key] ?? 0) + value;
  }
  return {
    writesBy,
    writes: Object.values(writesBy).reduce((a, b) => a + b, 0),
    requests,
    transitions: metricSum(text, 'taskplane_task_transitions_total'),
    reconciles: metricSum(text, 'taskplane_reconciles_total'),
  };
}

// ---------- driving ----------

/**
 * Runs `fn` over `items`, item j due at start + j/rate (as fast as possible without a rate), with at
 * most `concurrency` requests in flight. Returns when the first was sent and when each was acknowledged.
 */
async function drive<T>(items: readonly T[], rate: number | undefined, concurrency: number, fn: (item: T) => Promise<unknown>): Promise<{ start: number; end: number; acks: number[] }> {
  const start = wallMs();
  const acks: number[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const j = next++;
      if (rate) {
        const wait = start + (j * 1000) / rate - wallMs();
        if (wait > 1) await sleep(wait);
      }
      await fn(items[j]!);
      acks[j] = wallMs();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return { start, end: wallMs(), acks };
}

// ---------- the benchmark ----------

export interface PhaseResult {
  readonly name: string;
  readonly transition: string;
  /** Pod status writes (each one Pod event). */
  readonly events: number;
  readonly targetRate?: number;
  /** Writes per second achieved (first sent to last acknowledged). */
  readonly writeRate: number;
  /** Events per second: count ÷ (time the consumer had them all − first write sent). */
  readonly informerRate?: number;
  readonly watcherRate?: number;
  /** ms from the last write's acknowledgement until the consumer had them all. */
  readonly informerLagMs?: number;
  readonly watcherLagMs?: number;
  /** CPU seconds used during the phase (until the watcher had caught up). */
  readonly watcherCpuS: number;
  readonly informerCpuS: number;
  /** Share of the machine's CPU time busy during the phase (every process, /proc/stat). */
  readonly machineBusy: number;
  /** Cores etcd and kube-apiserver used on average during the phase. */
  readonly controlPlaneCores: number;
  readonly timedOut?: string;
}

export interface WatcherResult {
  readonly runs: number;
  readonly tasksPerRun: number;
  readonly tasks: number;
  readonly apply: { readonly objects: number; readonly seconds: number; readonly perSecond: number; readonly informerAllSeenS?: number; readonly watcherAllSeenS?: number };
  readonly phases: PhaseResult[];
  /** Present when the objects were applied before the watcher and the bare informer started (WatcherPlan.startup). */
  readonly startup?: StartupFigures;
  /** With `startup`: the watcher stopped at the end and started again, every status already written. */
  readonly restart?: RestartFigures;
  readonly retry: { readonly rate: number; readonly count: number; readonly medianMs: number; readonly p99Ms: number; readonly maxMs: number };
  /**
   * MB. watcherAfterApplyMB: RSS once every task was seen (after start-up with WatcherPlan.startup); watcherEndMB,
   * watcherPeakMB (VmHWM), informer*: at the end. controlPlane: etcd's and kube-apiserver's RSS and peak at the end.
   */
  readonly memory: {
    readonly watcherAfterApplyMB: number;
    readonly watcherEndMB: number;
    readonly watcherPeakMB: number;
    readonly informerRssMB: number;
    readonly informerPeakMB: number;
    readonly controlPlane: Record<string, { readonly rssMB: number; readonly peakMB: number }>;
  };
  readonly api: { readonly writesBy: Record<string, number>; readonly writes: number; readonly requests: number; readonly transitions: number; readonly reconciles: number; readonly writesPerTransition: number; readonly drivenTransitions: number; readonly writesPerDrivenTransition: number };
}

/** Start-up against objects that exist already: seconds from each process's spawn, and memory (MB) once started. */
export interface StartupFigures {
  /** The bare informer: until it had listed (ADDED) every Pod. */
  readonly informerListS: number;
  /** The watcher: until /readyz (runs and configs listed), and until every run's status listed all its tasks (Pods listed, every run reconciled once). */
  readonly watcherReadyS: number;
  readonly watcherAllRunsS: number;
  /** … until the first run's status listed all its tasks: the Pods are listed (a reconcile waits for that) and one run reconciled. */
  readonly watcherFirstRunS: number;
  /** CPU seconds from the watcher's spawn until every run was reconciled: the watcher's, and etcd's + kube-apiserver's. */
  readonly watcherCpuS: number;
  readonly controlPlaneCpuS: number;
  readonly informerRssMB: number;
  readonly informerPeakMB: number;
  /** RSS 15 s after every run was reconciled, and VmHWM at that moment (the start-up's peak). */
  readonly watcherSteadyRssMB: number;
  readonly watcherStartupPeakMB: number;
}

/** A watcher started again over runs whose statuses it wrote: seconds from its spawn, its peak memory, and what it wrote meanwhile. */
export interface RestartFigures {
  readonly readyS: number;
  /** Until it had reconciled (at least) once per run and its queue was empty. */
  readonly allRunsS: number;
  readonly reconciles: number;
  /** API writes (POST, PATCH, PUT, DELETE) in that time: a reconcile of an unchanged run writes nothing. */
  readonly writes: number;
  readonly cpuS: number;
  readonly peakMB: number;
  readonly rssMB: number;
}

/** Stops the watcher and starts a new one; times how long until every run was reconciled once (from its /metrics). */
async function restartWatcher(stop: () => Promise<void>, start: Bench['startWatcher'], runs: number, log: (line: string) => void): Promise<RestartFigures> {
  await stop();
  const again = await start();
  const ready = wallMs();
  let counters: WatcherCounters | undefined;
  await waitFor(
    'the restarted watcher to reconcile every run',
    async () => {
      const text = (await httpGet(`${again.metricsUrl}/metrics`)).body;
      if (metricSum(text, 'taskplane_queue_depth') > 0 || metricSum(text, 'taskplane_reconciles_total') < runs) return false;
      counters = await watcherCounters(again.metricsUrl);
      return true;
    },
    600_000,
  );
  const done = wallMs();
  const memoryNow = memory(again.watcherPid);
  const figures = {
    readyS: (ready - again.spawnedAt) / 1000,
    allRunsS: (done - again.spawnedAt) / 1000,
    reconciles: counters!.reconciles,
    writes: counters!.writes,
    cpuS: cpuSeconds(again.watcherPid),
    peakMB: memoryNow.peakMB,
    rssMB: memoryNow.rssMB,
  };
  log(
    `  restarted watcher: ready ${figures.readyS.toFixed(1)} s after its spawn, every run reconciled after ${figures.allRunsS.toFixed(1)} s ` +
      `(${figures.reconciles} reconciles, ${figures.writes} writes, CPU ${figures.cpuS.toFixed(1)} s); RSS ${memoryNow.rssMB.toFixed(0)} MB, peak ${memoryNow.peakMB.toFixed(0)} MB`,
  );
  return figures;
}

/** What both benchmarks share: a control plane with the CRDs and the reader of JobRun statuses; the bare informer and the watcher start when asked. */
interface Bench {
  readonly cp: ControlPlane;
  readonly api: Api;
  readonly statuses: Observer;
  /** Starts the bare Pod informer; resolves once it has listed (synced). */
  readonly startPods: () => Promise<Observer>;
  /** Starts `taskplane watch`; resolves once its /readyz answers. `spawnedAt`: wall-clock ms just before the spawn; `stop`: SIGTERM, and wait for the exit. */
  readonly startWatcher: () => Promise<{ readonly watcherPid: number; readonly metricsUrl: string; readonly spawnedAt: number; readonly stop: () => Promise<void> }>;
}

/** Starts a Bench, runs `fn` on it, and stops everything it started (the watcher's log is kept if `fn` throws). */
async function withBench<T>(opts: { log: (line: string) => void; cpuProfileDir?: string; controllerManager?: boolean; workers?: number }, fn: (bench: Bench) => Promise<T>): Promise<T> {
  const { log } = opts;
  log(`  starting the control plane (etcd + kube-apiserver${opts.controllerManager ? ' + kube-controller-manager' : ''} on 127.0.0.1)`);
  const cp = await startControlPlane({ tether: true, controllerManager: opts.controllerManager });
  const work = mkdtempSync(join(tmpdir(), 'taskplane-bench-watcher-'));
  const cleanups: (() => void | Promise<void>)[] = [];
  let failed = true;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const api = await Api.from(kc);
    cleanups.push(() => api.close());
    await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const crd of [jobConfigCrd(), jobRunCrd()]) {
      await api.apply('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd as never, ARGOCD);
    }
    await waitFor('the CRDs to be served', async () => {
      await api.request('GET', `/apis/taskplane.dev/v1alpha1/namespaces/${NS}/jobruns?limit=1`);
      await api.request('GET', `/apis/taskplane.dev/v1alpha1/namespaces/${NS}/jobconfigs?limit=1`);
      return true;
    });

    const statuses = Observer.start('runs', cp.kubeconfigPath);
    cleanups.push(() => statuses.stop());
    await statuses.ask({ op: 'synced' }, 60_000);

    const startPods = async () => {
      const pods = Observer.start('pods', cp.kubeconfigPath);
      cleanups.push(() => pods.stop());
      if (!(await pods.ask({ op: 'synced' }, 600_000))) throw new Error('the bare informer did not sync within 600 s');
      return pods;
    };

    const startWatcher = async () => {
      const port = await freePort();
      const metricsUrl = `http://127.0.0.1:${port}`;
      const logFile = join(work, 'watcher.log');
      const fd = openSync(logFile, 'a');
      const profile = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
      const spawnedAt = wallMs();
      const watcher = spawn(
        process.execPath,
        [...profile, 'bin/taskplane.mjs', 'watch', '--kubeconfig', cp.kubeconfigPath, '-n', NS, '--leader-elect=false', '--metrics-address', `127.0.0.1:${port}`, ...(opts.workers ? ['--workers', String(opts.workers)] : [])],
        { cwd: REPO_ROOT, stdio: ['ignore', fd, fd] },
      );
      closeSync(fd);
      const watcherPid = watcher.pid!;
      const watcherExited = new Promise<void>((resolve) => watcher.once('exit', () => resolve()));
      // SIGTERM first: a clean exit writes the CPU profile when one was asked for.
      const stop = async () => {
        if (watcher.exitCode !== null) return;
        process.kill(watcherPid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const exited = await Promise.race([watcherExited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 15_000)))]);
        clearTimeout(timer);
        if (exited) return;
        process.kill(watcherPid, 'SIGKILL');
        await watcherExited;
      };
      cleanups.push(stop);
      await waitFor('the watcher to be ready', async () => (await httpGet(`${metricsUrl}/readyz`)).status === 200, 300_000);
      log(`  watcher ready (pid ${watcherPid}, log ${logFile})`);
      return { watcherPid, metricsUrl, spawnedAt, stop };
    };

    const result = await fn({ cp, api, statuses, startPods, startWatcher });
    failed = false;
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // already gone
      }
    }
    await cp.stop();
    if (failed) log(`  the watcher's log is kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}


/** Which Pods each driven phase writes, as shares of the runs (consecutive slices from the first run). */
export interface WatcherPlan {
  /** Status-only phases (Pods to Running): [writes per second, share of the runs], each on the next slice. */
  readonly running: readonly (readonly [rate: number, share: number])[];
  /** Then the first attempts of the first `share` of the runs fail at `rate`/s; each gets a retry at once. */
  readonly failures: { readonly rate: number; readonly share: number };
  /** Then, as fast as possible, the first attempts of the runs after the failed ones, up to this share, succeed. */
  readonly successesUpTo: number;
  /**
   * Apply every object before the bare informer and the watcher start, then start them one after the
   * other and time their start-up against the existing objects (list, and for the watcher the first
   * reconcile of every run). Otherwise both run during the apply.
   */
  readonly startup: boolean;
}

/** The 10,000-task bench: every Pod goes through a status-only phase, 10% fail, the rest succeed. */
export const FULL_PLAN: WatcherPlan = { running: [[100, 0.1], [200, 0.2], [500, 0.5]], failures: { rate: 200, share: 0.1 }, successesUpTo: 1, startup: false };

/**
 * The 100,000-task bench (1,000 runs): start-up against everything applied, then phases on 10% of the
 * runs (10,000 Pods): the rates are the machine's, not the cache's, so more Pods would only take longer.
 */
export const SCALE_PLAN: WatcherPlan = { running: [[200, 0.02], [500, 0.08]], failures: { rate: 200, share: 0.02 }, successesUpTo: 0.1, startup: true };

export async function runWatcherBench(opts: { runs: number; tasksPerRun: number; log: (line: string) => void; cpuProfileDir?: string; workers?: number; plan?: WatcherPlan }): Promise<WatcherResult> {
  const { runs, tasksPerRun, log } = opts;
  const plan = opts.plan ?? FULL_PLAN;
  const tasks = runs * tasksPerRun;
  return withBench(opts, async ({ cp, api, statuses, startPods, startWatcher }) => {
    const early = plan.startup ? undefined : { pods: await startPods(), ...(await startWatcher()) };
    // ---- apply: JobConfigs, JobRuns, then every first attempt, as Argo CD would ----
    const jobs = Array.from({ length: runs }, (_, i) => plainJob(i, tasksPerRun, 0));
    const runNames = jobs.map((_, i) => runName(i));
    const base = `/apis/taskplane.dev/v1alpha1/namespaces/${NS}`;
    const applyStart = wallMs();
    await drive(jobs, undefined, 20, (job) => api.apply(`${base}/jobconfigs`, canonical(job.config) as never, ARGOCD));
    await drive(jobs, undefined, 20, (job) => api.apply(`${base}/jobruns`, canonical(job.run) as never, ARGOCD));
    const taskObjects = jobs.flatMap((job) => job.tasks.map((t) => canonical(t) as { metadata: { name: string } }));
    await drive(taskObjects, undefined, 20, (task) => api.apply(`/api/v1/namespaces/${NS}/pods`, task, ARGOCD));
    const applyEnd = wallMs();
    const applySeconds = (applyEnd - applyStart) / 1000;
    log(`  applied ${jobs.length * 2 + taskObjects.length} objects in ${applySeconds.toFixed(1)} s`);

    let startup: StartupFigures | undefined;
    let stopWatcher: (() => Promise<void>) | undefined;
    let pods: Observer;
    let watcherPid: number;
    let metricsUrl: string;
    let informerSeen: { at: number } | undefined;
    let watcherSeen: { at: number } | undefined;
    if (early) {
      ({ pods, watcherPid, metricsUrl } = early);
      informerSeen = await pods.ask({ op: 'count', key: 'ADD', target: tasks }, 300_000);
      watcherSeen = await statuses.ask({ op: 'tasks', runs: runNames, match: { retry: 0 }, target: tasks }, 300_000);
      log(`  informer saw all ${tasks} Pods ${fmtS(informerSeen?.at, applyStart)} after the apply began; the watcher's statuses listed them all ${fmtS(watcherSeen?.at, applyStart)}`);
    } else {
      // ---- start-up against the existing objects: the bare informer alone, then the watcher alone ----
      const informerSpawned = wallMs();
      pods = await startPods();
      const informerSynced = (await pods.ask({ op: 'count', key: 'ADD', target: tasks }, 600_000))?.at;
      const informerMemory = memory(pods.child.pid!);
      log(`  bare informer: listed ${tasks} Pods ${fmtS(informerSynced, informerSpawned)} after its spawn; RSS ${informerMemory.rssMB.toFixed(0)} MB, peak ${informerMemory.peakMB.toFixed(0)} MB`);
      const everyRun = statuses.ask({ op: 'tasks', runs: runNames, match: { retry: 0 }, target: tasks }, 900_000);
      // The first run whose status lists its tasks: the watcher's Pod list is done (a reconcile waits for it).
      const firstRun = statuses.ask({ op: 'tasks', runs: runNames, match: { retry: 0 }, target: tasksPerRun }, 900_000);
      const controlPlaneCpu0 = controlPlaneCpu(cp);
      const started = await startWatcher();
      ({ watcherPid, metricsUrl, stop: stopWatcher } = started);
      const ready = wallMs();
      const reconciled = (await everyRun)?.at;
      const first = (await firstRun)!.at;
      if (reconciled === undefined) throw new Error(`the watcher's statuses did not list all ${tasks} tasks within 900 s of its start`);
      const startupPeak = memory(watcherPid).peakMB;
      const cpu = { watcher: cpuSeconds(watcherPid), controlPlane: controlPlaneCpu(cp) - controlPlaneCpu0 };
      // Let the first reconciles' garbage go before calling it steady.
      await sleep(15_000);
      const steady = memory(watcherPid);
      log(
        `  watcher: ready ${fmtS(ready, started.spawnedAt)} after its spawn, the first run's status listed its tasks after ${fmtS(first, started.spawnedAt)}, every run's after ${fmtS(reconciled, started.spawnedAt)} ` +
          `(CPU: watcher ${cpu.watcher.toFixed(1)} s, etcd + kube-apiserver ${cpu.controlPlane.toFixed(1)} s); ` +
          `RSS ${steady.rssMB.toFixed(0)} MB 15 s later, peak ${startupPeak.toFixed(0)} MB`,
      );
      startup = {
        informerListS: (informerSynced! - informerSpawned) / 1000,
        watcherReadyS: (ready - started.spawnedAt) / 1000,
        watcherFirstRunS: (first - started.spawnedAt) / 1000,
        watcherAllRunsS: (reconciled - started.spawnedAt) / 1000,
        watcherCpuS: cpu.watcher,
        controlPlaneCpuS: cpu.controlPlane,
        informerRssMB: informerMemory.rssMB,
        informerPeakMB: informerMemory.peakMB,
        watcherSteadyRssMB: steady.rssMB,
        watcherStartupPeakMB: startupPeak,
      };
    }
    const afterApply = memory(watcherPid);

    // ---- status changes at increasing rates ----
    const before = await watcherCounters(metricsUrl);
    const shares = { from: 0 };
    const next = (share: number) => runNames.slice(Math.round(runs * shares.from), Math.round(runs * (shares.from += share)));
    const podsOf = (names: readonly string[], attempt = 0) =>
      names.flatMap((run) => Array.from({ length: tasksPerRun }, (_, index) => ({ run, name: `${run}-${index}-${attempt}`, config: Number(run.slice(4, 8)) })));
    const containers = (config: number) => ({ spec: podSpec(config) });

    const phases: PhaseResult[] = [];
    const phase = async (
      name: string,
      set: readonly string[],
      transition: { podPhase: 'Running' | 'Succeeded' | 'Failed'; match: TaskMatch },
      rate: number | undefined,
    ): Promise<{ acks: number[]; start: number }> => {
      const items = podsOf(set);
      const informerBase = ((await pods.ask({ op: 'counters' }))!.value as Record<string, number>)[`UPDATE:${transition.podPhase}`] ?? 0;
      const cpu0 = { watcher: cpuSeconds(watcherPid), informer: cpuSeconds(pods.child.pid!), controlPlane: controlPlaneCpu(cp), machine: machineTicks() };
      const informerDone = pods.ask({ op: 'count', key: `UPDATE:${transition.podPhase}`, target: informerBase + items.length }, 300_000);
      const watcherDone = statuses.ask({ op: 'tasks', runs: set, match: transition.match, target: items.length }, 300_000);
      const status = (item: (typeof items)[number]) =>
        transition.podPhase === 'Running' ? runningStatus(containers(item.config)) : finishedStatus(containers(item.config), transition.podPhase);
      const driven = await drive(items, rate, rate ? 64 : 32, (item) => api.podStatus(item.name, status(item)));
      const [informer, watched] = await Promise.all([informerDone, watcherDone]);
      const cpu1 = { watcher: cpuSeconds(watcherPid), informer: cpuSeconds(pods.child.pid!), controlPlane: controlPlaneCpu(cp), machine: machineTicks() };
      const n = items.length;
      const wallS = ((watched?.at ?? wallMs()) - driven.start) / 1000;
      const result: PhaseResult = {
        name,
        transition: `${transition.match.state}${transition.match.result ? `/${transition.match.result}` : ''}`,
        events: n,
        targetRate: rate,
        writeRate: n / ((driven.end - driven.start) / 1000),
        informerRate: informer && n / ((informer.at - driven.start) / 1000),
        watcherRate: watched && n / ((watched.at - driven.start) / 1000),
        informerLagMs: informer && informer.at - driven.end,
        watcherLagMs: watched && watched.at - driven.end,
        watcherCpuS: cpu1.watcher - cpu0.watcher,
        informerCpuS: cpu1.informer - cpu0.informer,
        machineBusy: (cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.all - cpu0.machine.all),
        controlPlaneCores: (cpu1.controlPlane - cpu0.controlPlane) / wallS,
        ...((!informer || !watched) && { timedOut: !informer ? 'informer' : 'watcher' }),
      };
      phases.push(result);
      log(
        `  ${name}: ${n} Pods -> ${transition.podPhase} at ${rate ? `${rate}/s` : 'max'}: wrote ${result.writeRate.toFixed(0)}/s; informer ${result.informerRate?.toFixed(0) ?? 'timed out'}/s ` +
          `(+${result.informerLagMs?.toFixed(0)} ms), watcher status ${result.watcherRate?.toFixed(0) ?? 'timed out'}/s (+${result.watcherLagMs?.toFixed(0)} ms)`,
      );
      return driven;
    };

    const running = { podPhase: 'Running' as const, match: { retry: 0, state: 'Running' } };
    for (const [rate, share] of plan.running) await phase(`${rate}/s`, next(share), running, rate);

    // ---- failures: every failed first attempt gets a retry (no retry delay) ----
    shares.from = 0;
    const failedSet = next(plan.failures.share);
    const failures = await phase(`failures ${plan.failures.rate}/s`, failedSet, { podPhase: 'Failed', match: { retry: 0, state: 'Terminated', result: 'Failed' } }, plan.failures.rate);
    const retryCount = failedSet.length * tasksPerRun;
    const retriesSeen = await pods.ask({ op: 'count', key: 'ADD:retry', target: retryCount }, 300_000);
    if (!retriesSeen) throw new Error(`not every failed task got a retry within 300 s`);
    const addedAt = (await pods.ask({ op: 'retryAdded' }))!.value as Record<string, number>;
    const failedNames = podsOf(failedSet);
    const retryLatency = failedNames.map((item, j) => addedAt[item.name.replace(/-0$/, '-1')]! - failures.acks[j]!);
    log(`  failure -> retry created: median ${median(retryLatency).toFixed(0)} ms, p99 ${quantile(retryLatency, 0.99).toFixed(0)} ms (${retryCount} retries)`);

    // ---- as fast as possible: the other first attempts succeed ----
    await phase('max rate', next(plan.successesUpTo - plan.failures.share), { podPhase: 'Succeeded', match: { retry: 0, state: 'Terminated', result: 'Succeeded' } }, undefined);

    // Let the last reconciles (run phases) settle before reading the counters.
    await waitFor('the watcher queue to drain', async () => metricSum((await httpGet(`${metricsUrl}/metrics`)).body, 'taskplane_queue_depth') === 0, 120_000);
    await sleep(1000);
    const after = await watcherCounters(metricsUrl);
    const writes = after.writes - before.writes;
    const transitions = after.transitions - before.transitions;
    // Pod status changes we made, plus the retries' appearance (a new task is a transition too).
    const drivenTransitions = phases.reduce((n, p) => n + p.events, 0) + retryCount;
    const end = memory(watcherPid);
    const informerMemory = memory(pods.child.pid!);
    const restart = stopWatcher && (await restartWatcher(stopWatcher, startWatcher, runs, log));
    const controlPlane = Object.fromEntries(
      (['etcd', 'kube-apiserver'] as const).flatMap((name) => {
        const pid = cp.pids()[name];
        return pid === undefined ? [] : [[name, memory(pid)]];
      }),
    );

    return {
      runs,
      tasksPerRun,
      tasks,
      apply: {
        objects: jobs.length * 2 + taskObjects.length,
        seconds: applySeconds,
        perSecond: (jobs.length * 2 + taskObjects.length) / applySeconds,
        informerAllSeenS: informerSeen && (informerSeen.at - applyStart) / 1000,
        watcherAllSeenS: watcherSeen && (watcherSeen.at - applyStart) / 1000,
      },
      ...(startup && { startup }),
      ...(restart && { restart }),
      phases,
      retry: { rate: plan.failures.rate, count: retryLatency.length, medianMs: median(retryLatency), p99Ms: quantile(retryLatency, 0.99), maxMs: Math.max(...retryLatency) },
      memory: { watcherAfterApplyMB: afterApply.rssMB, watcherEndMB: end.rssMB, watcherPeakMB: end.peakMB, informerRssMB: informerMemory.rssMB, informerPeakMB: informerMemory.peakMB, controlPlane },
      api: {
        writesBy: Object.fromEntries(Object.entries(after.writesBy).map(([k, v]) => [k, v - (before.writesBy[k] ?? 0)]).filter(([, v]) => (v as number) > 0)),
        writes,
        requests: after.requests - before.requests,
        transitions,
        reconciles: after.reconciles - before.reconciles,
        writesPerTransition: writes / transitions,
        drivenTransitions,
        writesPerDrivenTransition: writes / drivenTransitions,
      },
    };
  });
}

export interface KwokResult {
  readonly runs: number;
  readonly tasksPerRun: number;
  readonly tasks: number;
  readonly nodes: number;
  /** First attempts that KWOK fails (every task of 10% of the runs); each gets a retry that succeeds. */
  readonly failing: number;
  readonly runTime: string;
  readonly stageParallelism: number;
  readonly applySeconds: number;
  /** Seconds from the start of the apply until the bare informer had every Pod (first attempts and retries) in a final phase. */
  readonly informerAllDoneS?: number;
  /** … until the watcher's statuses showed every first attempt terminated, and every retry succeeded. */
  readonly watcherFirstAttemptsDoneS?: number;
  readonly watcherAllDoneS?: number;
  /** Pod events the bare informer received (ADD + UPDATE), per Pod. */
  readonly eventsPerPod: number;
  readonly watcherCpuS: number;
  readonly informerCpuS: number;
  readonly watcherPeakMB: number;
  readonly api: { readonly writes: number; readonly transitions: number; readonly writesPerTransition: number };
}

/**
 * The same watcher, with KWOK as the kubelet: kube-scheduler binds every Pod to a KWOK node and KWOK drives it
 * through the stages of test/cluster/kwok-pod-stages.yaml (Pending → Running → Succeeded, or Failed for the
 * first attempts of 10% of the runs, whose retries then succeed). The event stream is the one a cluster
 * produces (binding, conditions, container states), at the pace the scheduler and KWOK set, not a rate we choose.
 */
export async function runWatcherKwokBench(opts: { runs: number; tasksPerRun: number; log: (line: string) => void; runTime?: string; stageParallelism?: number }): Promise<KwokResult> {
  const { runs, tasksPerRun, log } = opts;
  const tasks = runs * tasksPerRun;
  const runTime = opts.runTime ?? '2s';
  // kube-controller-manager's node lifecycle controller lifts the not-ready taint the API server puts on new Nodes.
  return withBench({ ...opts, controllerManager: true }, async ({ cp, api, statuses, startPods, startWatcher }) => {
    const pods = await startPods();
    const { watcherPid, metricsUrl } = await startWatcher();
    // Capacity for every first attempt and retry at once (the scheduler counts Pods by node, not by phase).
    const nodeCount = 10;
    // KWOK plays 4 Pod stages at a time by default: with three stages per Pod that, not the watcher, sets the pace.
    const stageParallelism = opts.stageParallelism ?? 32;
    const nodes = await startNodes(cp, { count: nodeCount, podsPerNode: Math.ceil((tasks * 1.2) / nodeCount) + 10, podStageParallelism: stageParallelism });
    log(`  kube-scheduler and KWOK with ${nodes.names.length} nodes ready (KWOK plays ${stageParallelism} Pod stages at once)`);
    const failingRuns = Math.max(1, Math.round(runs * 0.1));
    const failing = failingRuns * tasksPerRun;
    const jobs = Array.from({ length: runs }, (_, i) =>
      plainJob(i, tasksPerRun, 0, kwokAnnotations(i < failingRuns ? { outcome: 'fail', attempts: [0], runTime } : { runTime })),
    );
    const runNames = jobs.map((_, i) => runName(i));
    const base = `/apis/taskplane.dev/v1alpha1/namespaces/${NS}`;
    const before = await watcherCounters(metricsUrl);
    const cpu0 = { watcher: cpuSeconds(watcherPid), informer: cpuSeconds(pods.child.pid!) };
    const informerDone = pods.ask({ op: 'count', key: 'TERMINAL', target: tasks + failing }, 900_000);
    const firstDone = statuses.ask({ op: 'tasks', runs: runNames, match: { retry: 0, state: 'Terminated' }, target: tasks }, 900_000);
    const allDone = statuses.ask({ op: 'tasks', runs: runNames.slice(0, failingRuns), match: { retry: 1, state: 'Terminated', result: 'Succeeded' }, target: failing }, 900_000);
    const applyStart = wallMs();
    await drive(jobs, undefined, 20, (job) => api.apply(`${base}/jobconfigs`, canonical(job.config) as never, ARGOCD));
    await drive(jobs, undefined, 20, (job) => api.apply(`${base}/jobruns`, canonical(job.run) as never, ARGOCD));
    const taskObjects = jobs.flatMap((job) => job.tasks.map((t) => canonical(t) as { metadata: { name: string } }));
    await drive(taskObjects, undefined, 20, (task) => api.apply(`/api/v1/namespaces/${NS}/pods`, task, ARGOCD));
    const applySeconds = (wallMs() - applyStart) / 1000;
    log(`  applied ${jobs.length * 2 + taskObjects.length} objects in ${applySeconds.toFixed(1)} s; KWOK runs the Pods (${runTime} each, ${failing} first attempts fail)`);
    const [informer, first, all] = await Promise.all([informerDone, firstDone, allDone]);
    log(`  every Pod final for the bare informer after ${fmtS(informer?.at, applyStart)}; the watcher's statuses: every first attempt terminated after ${fmtS(first?.at, applyStart)}, every retry succeeded after ${fmtS(all?.at, applyStart)}`);
    if (!informer || !first || !all) throw new Error('the KWOK run did not finish within 900 s');
    await waitFor('the watcher queue to drain', async () => metricSum((await httpGet(`${metricsUrl}/metrics`)).body, 'taskplane_queue_depth') === 0, 60_000);
    const cpu1 = { watcher: cpuSeconds(watcherPid), informer: cpuSeconds(pods.child.pid!) };
    const after = await watcherCounters(metricsUrl);
    const counters = (await pods.ask({ op: 'counters' }))!.value as Record<string, number>;
    const events = Object.entries(counters).filter(([key]) => key === 'ADD' || key.startsWith('UPDATE:')).reduce((n, [, v]) => n + v, 0);
    const writes = after.writes - before.writes;
    const transitions = after.transitions - before.transitions;
    return {
      runs,
      tasksPerRun,
      tasks,
      nodes: nodes.names.length,
      failing,
      runTime,
      stageParallelism,
      applySeconds,
      informerAllDoneS: (informer.at - applyStart) / 1000,
      watcherFirstAttemptsDoneS: (first.at - applyStart) / 1000,
      watcherAllDoneS: (all.at - applyStart) / 1000,
      eventsPerPod: events / (tasks + failing),
      watcherCpuS: cpu1.watcher - cpu0.watcher,
      informerCpuS: cpu1.informer - cpu0.informer,
      watcherPeakMB: memory(watcherPid).peakMB,
      api: { writes, transitions, writesPerTransition: writes / transitions },
    };
  });
}

const fmtS = (at: number | undefined, from: number) => (at === undefined ? 'never (timed out)' : `${((at - from) / 1000).toFixed(1)} s`);

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

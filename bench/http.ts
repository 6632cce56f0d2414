/**
 * HTTP tasks: (a) the watcher's HTTP client (egress-checked lookup, Idempotency-Key, body cap, response
 * rules) against a bare Node `fetch` loop, same loopback server, same concurrency, interleaved; (b) the
 * whole path on a real control plane: 1,000 HttpTasks of one run performed by an in-process watcher
 * (two status writes per request, the run's status), as requests per second and overhead per request
 * over the bare loop; (c) memory with 1,000 requests held in flight by the server at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Chart } from 'cdk8s';
import { JobConfig, Parallelism, TaskplaneApp, TaskTemplate } from '../constructs/index.js';
import { judgeResponse } from '../engine/executors/http-response.js';
import { httpTaskCrd, jobConfigCrd, jobRunCrd } from '../engine/schema/crd.js';
import { HTTP_TASK_RESOURCE } from '../engine/task-kinds.js';
import { startControlPlane } from '../test/cluster/harness.js';
import { parseDocuments, readTree, tempOutdir } from '../test/_synth.js';
import { Watcher } from '../watcher/controller.js';
import { HttpClient, type OutgoingRequest } from '../watcher/http-client.js';
import { EgressPolicy } from '../watcher/http-egress.js';
import { KubeClient, type KubeObject } from '../watcher/kube/client.js';
import { createMetrics } from '../watcher/metrics.js';
import { median, sleep, wallMs } from './util.js';

export interface HttpBenchResult {
  readonly concurrency: number;
  readonly requests: number;
  /** Client only: requests per second, median of the repetitions. */
  readonly fetchRps: number;
  readonly clientRps: number;
  /** clientRps / fetchRps, median of the repetitions' ratios. */
  readonly clientRatio: number;
  /** Whole path on the control plane. */
  readonly e2eTasks: number;
  readonly e2eSeconds: number;
  readonly e2eRps: number;
  /** e2eRps / fetchRps. */
  readonly e2eRatio: number;
  /** Milliseconds of wall time per request over the bare loop's, at the pool's concurrency. */
  readonly e2eOverheadMs: number;
  readonly inFlight: number;
  /** Heap and RSS growth with `inFlight` requests held open, per request. */
  readonly heapPerRequestKiB: number;
  readonly rssPerRequestKiB: number;
}

const NS = 'bench-http';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface LoopbackServer {
  readonly url: string;
  readonly held: () => number;
  close(): Promise<void>;
}

/** /ok answers at once; /hold?ms= holds the response (to keep requests in flight). */
async function loopback(): Promise<LoopbackServer> {
  let held = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true,"warmed":3}');
    };
    req.resume();
    if (url.pathname === '/hold') {
      held++;
      res.on('close', () => held--);
      setTimeout(answer, Number(url.searchParams.get('ms') ?? 1000));
    } else answer();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function loop(total: number, concurrency: number, one: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = wallMs();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < total) await one();
  }));
  return total / ((wallMs() - started) / 1000);
}

export async function runHttpBench(opts: { requests: number; e2eTasks: number; log: (line: string) => void }): Promise<HttpBenchResult> {
  const { log } = opts;
  const concurrency = 64;
  const server = await loopback();
  const client = new HttpClient({ egress: new EgressPolicy({ hosts: [], cidrs: ['127.0.0.0/8'] }) });
  const never = new AbortController().signal;
  const outgoing: OutgoingRequest = {
    method: 'GET', url: `${server.url}/ok`, headers: [['Idempotency-Key', 'bench/run/0']], privateHeaders: new Set(), http1Only: false,
    maxRedirects: 5, crossHostRedirects: false, maxResponseBytes: 1 << 20, timeoutMs: 30_000,
  };
  const bare = async () => {
    const response = await fetch(`${server.url}/ok`, { headers: { 'Idempotency-Key': 'bench/run/0' } });
    JSON.parse(await response.text());
  };
  const ours = async () => {
    judgeResponse(undefined, await client.send(outgoing, never));
  };
  try {
    log(`  client: ${opts.requests} requests, ${concurrency} at a time, bare fetch vs the watcher's client, interleaved x3`);
    await loop(500, concurrency, bare);
    await loop(500, concurrency, ours);
    const fetchRps: number[] = [];
    const clientRps: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      fetchRps.push(await loop(opts.requests, concurrency, bare));
      clientRps.push(await loop(opts.requests, concurrency, ours));
    }
    const clientRatio = median(clientRps.map((r, i) => r / fetchRps[i]!));
    log(`  client: fetch ${median(fetchRps).toFixed(0)}/s, taskplane ${median(clientRps).toFixed(0)}/s`);
    const e2e = await endToEnd(server, opts.e2eTasks, log);
    const fetchMedian = median(fetchRps);
    return {
      concurrency,
      requests: opts.requests,
      fetchRps: fetchMedian,
      clientRps: median(clientRps),
      clientRatio,
      e2eTasks: opts.e2eTasks,
      e2eSeconds: e2e.seconds,
      e2eRps: opts.e2eTasks / e2e.seconds,
      e2eRatio: opts.e2eTasks / e2e.seconds / fetchMedian,
      e2eOverheadMs: ((e2e.seconds / opts.e2eTasks) - 1 / fetchMedian) * 1000,
      inFlight: opts.e2eTasks,
      heapPerRequestKiB: e2e.heapPerRequest / 1024,
      rssPerRequestKiB: e2e.rssPerRequest / 1024,
    };
  } finally {
    await client.close();
    await server.close();
  }
}

/** One run's HttpTasks as Argo CD would apply them (the run file: JobRun then its tasks). */
function synthesize(config: string, path: string, count: number): KubeObject[] {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  const job = new JobConfig(new Chart(app, 'jobs', { namespace: NS }), config, {
    parallelism: Parallelism.withCount(count),
    task: TaskTemplate.http({ request: { method: 'GET', url: path }, response: { successCondition: 'status == 200 && body.ok' } }),
  });
  const run = job.run('r1', {});
  app.synth();
  const files = readTree(app.outdir);
  return [...parseDocuments(files.get(`jobs/${config}/jobconfig.k8s.yaml`)!), ...parseDocuments(files.get(`jobs/${config}/runs/${run.name}.k8s.yaml`)!)] as KubeObject[];
}

async function applyAll(api: KubeClient, objects: KubeObject[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < objects.length) await api.apply(objects[next++]!);
  }));
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function endToEnd(server: LoopbackServer, tasks: number, log: (line: string) => void): Promise<{ seconds: number; heapPerRequest: number; rssPerRequest: number }> {
  log('  end to end: starting the control plane (etcd + kube-apiserver on 127.0.0.1)');
  const cp = await startControlPlane({ tether: true });
  let watcher: Watcher | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const api = new KubeClient(kc, 'argocd-controller');
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const crd of [jobConfigCrd(), jobRunCrd(), httpTaskCrd()]) await api.apply(crd as never);
    await waitFor('the CRDs', () => api.list('taskplane.dev/v1alpha1', 'HttpTask', { limit: 1 }, NS).then(() => true, () => undefined));
    const finished = async (run: string) => {
      const list = await api.list<KubeObject & { status?: { state?: string } }>('taskplane.dev/v1alpha1', 'HttpTask', { labelSelector: `taskplane.dev/run=${run}` }, NS);
      return list.items.filter((t) => ['Succeeded', 'Failed', 'Killed'].includes(t.status?.state ?? '')).length;
    };

    // Throughput: every HttpTask applied first, then the watcher starts and performs them all.
    await applyAll(api, synthesize('warm', `${server.url}/ok`, tasks));
    log(`  end to end: ${tasks} HttpTasks applied; starting the watcher (pool of ${tasks})`);
    const started = wallMs();
    watcher = new Watcher({
      kubeConfig: kc, logger: pino({ level: 'silent' }), metrics: createMetrics(), namespace: NS,
      taskResources: [HTTP_TASK_RESOURCE], http: { concurrency: tasks, egress: { hosts: [], cidrs: ['127.0.0.0/8'] } },
    });
    await watcher.start();
    await waitFor('every HttpTask finished', async () => ((await finished('warm-r1')) === tasks ? true : undefined));
    const seconds = (wallMs() - started) / 1000;
    log(`  end to end: ${tasks} requests in ${seconds.toFixed(1)} s`);

    // Memory: the server holds every request, so all of them are in flight at once.
    gc();
    const before = process.memoryUsage();
    await applyAll(api, synthesize('hold', `${server.url}/hold?ms=60000`, tasks));
    await waitFor(`${tasks} requests in flight`, async () => (server.held() >= tasks ? true : undefined));
    gc();
    const during = process.memoryUsage();
    log(`  memory: ${server.held()} in flight; heap +${((during.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB, rss +${((during.rss - before.rss) / 2 ** 20).toFixed(1)} MiB`);
    return { seconds, heapPerRequest: (during.heapUsed - before.heapUsed) / tasks, rssPerRequest: (during.rss - before.rss) / tasks };
  } finally {
    await watcher?.stop();
    await cp.stop();
  }
}

/** Helpers for watcher tests against the real control plane. */
import { spawn } from 'node:child_process';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Chart } from 'cdk8s';
import { KubeConfig as KubeConfigClass, type KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { JobConfig, TaskplaneApp, type JobConfigProps, type JobRun, type OptionDefinitions } from '../../constructs/index.js';
import type { JobRunObject } from '../../engine/schema/resources.js';
import { Watcher, type WatcherOptions } from '../../watcher/controller.js';
import { KubeClient, type KubeObject } from '../../watcher/kube/client.js';
import { createMetrics, type WatcherMetrics } from '../../watcher/metrics.js';
import { apply, kubeConfig, waitUntil } from '../cluster/client.js';
import { runningStatus } from '../cluster/kubelet.js';
import { freePort } from '../cluster/harness.js';
import { parseDocuments, readTree, tempOutdir } from '../_synth.js';

export const ARGOCD = 'argocd-controller';

export function testClient(kc: KubeConfig = kubeConfig()): KubeClient {
  return new KubeClient(kc, 'taskplane-test');
}

/** The watchers this process started: `events` reads only after they wrote what they recorded. */
const inProcessWatchers = new Set<Watcher>();

export async function startWatcher(options: Partial<WatcherOptions> = {}): Promise<Watcher> {
  const watcher = new Watcher({
    kubeConfig: kubeConfig(),
    logger: pino({ level: process.env.TASKPLANE_TEST_LOG ?? 'silent' }),
    metrics: createMetrics(),
    ...options,
  });
  await watcher.start();
  inProcessWatchers.add(watcher);
  return watcher;
}

/**
 * Synthesizes one JobConfig and one run through the real constructs and returns the documents of
 * the run's file (the JobRun, then its first-attempt tasks) and of the JobConfig.
 */
export function synthRun<O extends OptionDefinitions>(
  namespace: string,
  props: JobConfigProps<O>,
  run: (config: JobConfig<O>) => JobRun,
): { config: KubeObject; run: JobRunObject & KubeObject; tasks: KubeObject[] } {
  const app = new TaskplaneApp({ outdir: tempOutdir() });
  const config = new JobConfig<O>(new Chart(app, 'jobs', { namespace }), props.name ?? 'job', props);
  const jobRun = run(config);
  app.synth();
  const files = readTree(app.outdir);
  const [configDoc] = parseDocuments(files.get(`jobs/${config.name}/jobconfig.k8s.yaml`)!);
  const [runDoc, ...tasks] = parseDocuments(files.get(`jobs/${config.name}/runs/${jobRun.name}.k8s.yaml`)!);
  return { config: configDoc, run: runDoc, tasks };
}

/** Applies documents the way Argo CD does with ServerSideApply=true. */
export async function applyAsGitOps(docs: KubeObject[], fieldManager = ARGOCD): Promise<void> {
  await apply(docs as never, { fieldManager, force: true });
}

export async function getRun(client: KubeClient, namespace: string, name: string): Promise<JobRunObject & KubeObject> {
  return client.get('taskplane.dev/v1alpha1', 'JobRun', namespace, name);
}

/** Waits until the run's status satisfies `check`; returns the run. */
export function waitForRun(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
  check: (run: JobRunObject) => boolean,
  timeoutMs = 45_000,
): Promise<JobRunObject & KubeObject> {
  return waitUntil(`JobRun ${name}: ${what}`, async () => {
    const run = await getRun(client, namespace, name);
    return check(run) ? run : undefined;
  }, timeoutMs);
}

export async function listTasks(client: KubeClient, namespace: string, apiVersion: string, kind: string, runName: string): Promise<KubeObject[]> {
  const list = await client.list(apiVersion, kind, { labelSelector: `taskplane.dev/run=${runName}` }, namespace);
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** What a kubelet writes once a Pod's containers started. */
export async function markPodRunning(client: KubeClient, namespace: string, name: string): Promise<void> {
  const pod = await client.get<KubeObject & { spec: { containers: { name: string; image: string }[] } }>('v1', 'Pod', namespace, name);
  await client.mergePatch(pod, { status: runningStatus(pod) }, 'status');
}

/**
 * A run's events, each occurrence once (an aggregated Event counts `count`). Events are written off the
 * reconcile path: what the in-process watchers recorded so far is flushed first, so a test that saw a
 * status reads the events of the same reconcile.
 */
export async function events(client: KubeClient, namespace: string, runName: string): Promise<{ reason: string; type: string; message: string }[]> {
  await Promise.all([...inProcessWatchers].map((watcher) => watcher.flushEvents()));
  const list = await client.list<KubeObject & { reason: string; type: string; message: string; count?: number; involvedObject: { name: string } }>('v1', 'Event', {}, namespace);
  return list.items
    .filter((e) => e.involvedObject.name === runName)
    .flatMap(({ reason, type, message, count }) => Array.from({ length: count ?? 1 }, () => ({ reason, type, message })));
}

export const podTask = (args: string[] = ['true']) => ({ containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c'], args }] });

// ---- resilience tests: a watcher child process, a TCP proxy that can stall, metric reads ----

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WatcherProcess {
  readonly pid: number;
  /** http://127.0.0.1:PORT of /metrics, /healthz, /readyz. */
  readonly url: string;
  /** Resolves when the process exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stdout + stderr so far (pino JSON lines), for failure messages. */
  output(): string;
  /** SIGKILLs the process (by its PID) if it still runs, and waits for it. */
  kill(): Promise<void>;
}

/**
 * `taskplane watch` as a child process, the way it runs in a Pod. `command` replaces
 * `node bin/taskplane.mjs` (e.g. the image's entrypoint in its unpacked filesystem).
 */
export async function spawnWatcher(opts: { kubeconfig: string; namespace: string; env?: Record<string, string>; args?: string[]; command?: readonly string[] }): Promise<WatcherProcess> {
  const port = await freePort();
  const [file, ...commandArgs] = opts.command ?? [process.execPath, 'bin/taskplane.mjs'];
  const child = spawn(
    file!,
    [...commandArgs, 'watch', '--kubeconfig', opts.kubeconfig, '-n', opts.namespace, '--leader-elect=false', '--metrics-address', `127.0.0.1:${port}`, '--log-level', 'debug', ...(opts.args ?? [])],
    { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // Never leave a watcher behind, even when the test process exits abruptly.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    exited,
    output: () => output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
  };
}


/** One sample of a Prometheus text exposition: `name{a="b"} 3` → 3 (labels must all match); 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** A metric of an in-process watcher's registry (summed over series whose labels match). */
export async function registryValue(metrics: WatcherMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await metrics.registry.metrics(), name, labels);
}

/**
 * A TCP proxy to the API server (TLS passes through: the serving cert is for 127.0.0.1). `stall()`
 * models a network partition: nothing moves on open connections and new ones are held unanswered;
 * `heal()` drops the connections that were open at the stall (as dead TCP connections end) and
 * connects the held ones to the API server as it is now.
 */
export interface StallableProxy {
  readonly port: number;
  /** A KubeConfig like `kc` that talks through the proxy. */
  kubeConfig(kc: KubeConfig): KubeConfig;
  stall(): void;
  heal(): void;
  /** Ends a stall delivering what waited on the open connections (packets delayed, not lost). */
  resume(): void;
  /** Models an API server that is down: open connections are reset, new ones refused, until `heal()`. */
  refuse(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<StallableProxy> {
  let stalled = false;
  let refusing = false;
  const open = new Set<{ client: Socket; upstream?: Socket }>();
  const held: Socket[] = [];
  const connect = (client: Socket) => {
    const upstream = netConnect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    // While stalled an upstream that goes away (API server restart) stays unnoticed by the client.
    upstream.on('error', () => (stalled ? undefined : drop())).on('close', () => (stalled ? undefined : drop()));
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  };
  const server = createNetServer({ pauseOnConnect: true }, (client) => {
    if (refusing) return void client.resetAndDestroy();
    if (!stalled) return connect(client);
    held.push(client);
    client.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    kubeConfig(kc) {
      const copy = new KubeConfigClass();
      copy.loadFromOptions({
        clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
        users: kc.users,
        contexts: kc.contexts,
        currentContext: kc.currentContext,
      });
      return copy;
    },
    stall() {
      stalled = true;
      for (const { client, upstream } of open) {
        client.unpipe(upstream);
        upstream?.unpipe(client);
        client.pause();
        upstream?.pause();
      }
    },
    resume() {
      stalled = false;
      for (const { client, upstream } of open) {
        if (!upstream) continue;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        upstream.resume();
      }
      for (const client of held.splice(0)) if (!client.destroyed) connect(client);
    },
    refuse() {
      refusing = true;
      for (const { client, upstream } of [...open]) {
        client.resetAndDestroy();
        upstream?.destroy();
      }
      open.clear();
    },
    heal() {
      refusing = false;
      stalled = false;
      for (const { client, upstream } of [...open]) {
        client.destroy();
        upstream?.destroy();
      }
      open.clear();
      for (const client of held.splice(0)) if (!client.destroyed) connect(client);
    },
    async close() {
      for (const { client, upstream } of open) {
        client.destroy();
        upstream?.destroy();
      }
      for (const client of held.splice(0)) client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

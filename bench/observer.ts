/**
 * A measuring child process for bench/watcher.ts: a bare `@kubernetes/client-node` informer
 * (`makeInformer`, 1.4) on one namespace, driven by JSON lines on stdin and answering on stdout.
 *
 *     node --import tsx bench/observer.ts pods <kubeconfig> <namespace>   the floor: counts Pod events
 *     node --import tsx bench/observer.ts runs <kubeconfig> <namespace>   reads the watcher's JobRun statuses
 *
 * Requests: {id, op: 'synced'} · {id, op: 'count', key, target} (pods: resolves once the counter `key`,
 * e.g. `UPDATE:Running`, `ADD:retry` or `TERMINAL` (Pods in a final phase), reaches `target`) · {id, op: 'tasks', runs, match, target}
 * (runs: once `target` task refs of those runs match) · {id, op: 'counters'} · {id, op: 'retryAdded'}.
 * Answers {id, at, value}: `at` is the wall-clock ms at which the condition held (bench/util.ts wallMs).
 */
import { createInterface } from 'node:readline';
import { ADD, CoreV1Api, CustomObjectsApi, ERROR, KubeConfig, makeInformer, UPDATE, type KubernetesObject } from '@kubernetes/client-node';
import { wallMs } from './util.js';

const [mode, kubeconfig, namespace] = process.argv.slice(2);
if ((mode !== 'pods' && mode !== 'runs') || !kubeconfig || !namespace) {
  console.error('usage: observer.ts <pods|runs> <kubeconfig> <namespace>');
  process.exit(2);
}

const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);

export interface TaskMatch {
  readonly retry?: number;
  readonly state?: string;
  readonly result?: string;
}

interface TaskRef {
  retryIndex: number;
  status: { state: string; result?: string };
}
type RunObject = KubernetesObject & { status?: { tasks?: TaskRef[] } };
type PodObject = KubernetesObject & { status?: { phase?: string } };

interface Wait {
  readonly id: number;
  readonly target: number;
  readonly value: () => number;
  /** Runs mode: the matching refs per run, updated as each run changes. */
  readonly perRun?: Map<string, number>;
  readonly match?: TaskMatch;
}

const counters: Record<string, number> = {};
const retryAdded: Record<string, number> = {};
const runs = new Map<string, RunObject>();
const waits = new Set<Wait>();
let synced = false;
const syncWaiters: number[] = [];

const reply = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

function check(wait: Wait): void {
  const value = wait.value();
  if (value >= wait.target) {
    waits.delete(wait);
    reply({ id: wait.id, at: wallMs(), value });
  }
}

const bump = (key: string) => (counters[key] = (counters[key] ?? 0) + 1);

if (mode === 'pods') {
  const core = kc.makeApiClient(CoreV1Api);
  const labelSelector = 'taskplane.dev/run';
  const informer = makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace, labelSelector }), labelSelector);
  // Counting is all the floor does per event.
  informer.on(ADD, (pod: PodObject) => {
    bump('ADD');
    if (pod.metadata?.labels?.['taskplane.dev/retry-index'] !== '0') {
      bump('ADD:retry');
      retryAdded[pod.metadata!.name!] = wallMs();
    }
    for (const wait of waits) check(wait);
  });
  // TERMINAL counts Pods, not events: under KWOK a Pod can be updated again after its final phase.
  const terminal = new Set<string>();
  informer.on(UPDATE, (pod: PodObject) => {
    bump(`UPDATE:${pod.status?.phase ?? ''}`);
    if ((pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') && !terminal.has(pod.metadata!.name!)) {
      terminal.add(pod.metadata!.name!);
      bump('TERMINAL');
    }
    for (const wait of waits) check(wait);
  });
  informer.on(ERROR, (error) => console.error(`informer error: ${String(error)}`));
  await informer.start();
} else {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = () => custom.listNamespacedCustomObject({ group: 'taskplane.dev', version: 'v1alpha1', namespace, plural: 'jobruns' });
  const informer = makeInformer(kc, `/apis/taskplane.dev/v1alpha1/namespaces/${namespace}/jobruns`, list as never);
  const onRun = (run: RunObject) => {
    const name = run.metadata!.name!;
    runs.set(name, run);
    for (const wait of waits) {
      if (!wait.perRun?.has(name)) continue;
      wait.perRun.set(name, matching(run, wait.match!));
      check(wait);
    }
  };
  informer.on(ADD, onRun);
  informer.on(UPDATE, onRun);
  informer.on(ERROR, (error) => console.error(`informer error: ${String(error)}`));
  await informer.start();
}
synced = true;
for (const id of syncWaiters.splice(0)) reply({ id, at: wallMs() });

function matching(run: RunObject | undefined, match: TaskMatch): number {
  let n = 0;
  for (const ref of run?.status?.tasks ?? []) {
    if (match.retry !== undefined && ref.retryIndex !== match.retry) continue;
    if (match.state !== undefined && ref.status.state !== match.state) continue;
    if (match.result !== undefined && ref.status.result !== match.result) continue;
    n++;
  }
  return n;
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line) as { id: number; op: string; key?: string; target?: number; runs?: string[]; match?: TaskMatch };
  switch (request.op) {
    case 'synced':
      if (synced) reply({ id: request.id, at: wallMs() });
      else syncWaiters.push(request.id);
      break;
    case 'count': {
      const key = request.key!;
      const wait: Wait = { id: request.id, target: request.target!, value: () => counters[key] ?? 0 };
      waits.add(wait);
      check(wait);
      break;
    }
    case 'tasks': {
      const match = request.match ?? {};
      const perRun = new Map((request.runs ?? []).map((name) => [name, matching(runs.get(name), match)]));
      const wait: Wait = { id: request.id, target: request.target!, perRun, match, value: () => sum(perRun.values()) };
      waits.add(wait);
      check(wait);
      break;
    }
    case 'counters':
      reply({ id: request.id, at: wallMs(), value: counters });
      break;
    case 'retryAdded':
      reply({ id: request.id, at: wallMs(), value: retryAdded });
      break;
    default:
      reply({ id: request.id, error: `unknown op ${request.op}` });
  }
}

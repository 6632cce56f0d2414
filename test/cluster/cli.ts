/**
 * `npm run cluster -- up [--no-kcm] [--nodes] [--flux] | down | env | status`: a long-lived test control plane
 * for poking at by hand, optionally with nodes (kube-scheduler + KWOK, nodes.ts) and Flux (flux.ts).
 * `up` leaves the processes running and records them in a state file; `down` stops exactly those.
 */
import { readFileSync, readlinkSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFlux } from './flux.js';
import { processExists, startControlPlane, versions } from './harness.js';
import { startNodes } from './nodes.js';

interface State {
  dir: string;
  dataDir: string;
  kubeconfigPath: string;
  server: string;
  processes: { name: string; pid: number; exe: string }[];
}

const stateFile = process.env.TASKPLANE_CLUSTER_STATE ?? path.join(tmpdir(), 'taskplane-cluster.json');

function readState(): State | undefined {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as State) : undefined;
}

/** Ours only if the PID still runs the binary we started (PIDs get reused). */
function isOurs(p: State['processes'][number]): boolean {
  try {
    return processExists(p.pid) && readlinkSync(`/proc/${p.pid}/exe`) === p.exe;
  } catch {
    return false;
  }
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    console.log(`no cluster recorded in ${stateFile}`);
    return;
  }
  for (const p of [...state.processes].reverse()) {
    if (!isOurs(p)) continue;
    process.kill(-p.pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isOurs(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isOurs(p)) process.kill(-p.pid, 'SIGKILL');
    console.log(`stopped ${p.name} (pid ${p.pid})`);
  }
  rmSync(state.dataDir, { recursive: true, force: true });
  rmSync(state.dir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing?.processes.some(isOurs)) {
    console.log(`already up: export KUBECONFIG=${existing.kubeconfigPath}`);
    return;
  }
  const started = Date.now();
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
  const cp = await startControlPlane({ controllerManager: process.argv.includes('--no-kcm') === false });
  console.log(`Kubernetes ${versions.kubernetes} (etcd ${versions.etcd}) ready at ${cp.server} in ${seconds(started)}`);
  try {
    if (process.argv.includes('--nodes')) {
      const since = Date.now();
      const nodes = await startNodes(cp);
      console.log(`kube-scheduler + kwok ${versions.kwok}, nodes ${nodes.names.join(', ')} Ready in ${seconds(since)}`);
    }
    if (process.argv.includes('--flux')) {
      const since = Date.now();
      await startFlux(cp);
      console.log(`Flux source-controller + kustomize-controller ${versions.flux} ready in ${seconds(since)}`);
    }
  } catch (err) {
    await cp.stop({ keepLogs: true });
    throw err;
  }
  const pids = cp.pids();
  const binaries: Record<string, string> = cp.binaries;
  const state: State = {
    dir: cp.dir,
    dataDir: cp.dataDir,
    kubeconfigPath: cp.kubeconfigPath,
    server: cp.server,
    processes: Object.keys(pids).map((name) => ({ name, pid: pids[name]!, exe: binaries[name]! })),
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.log(`all ready in ${seconds(started)}`);
  for (const p of state.processes) console.log(`  ${p.name}: pid ${p.pid}, log ${cp.logs[p.name]}`);
  console.log(`export KUBECONFIG=${cp.kubeconfigPath}\nstop it with: npm run cluster -- down`);
}

const command = process.argv[2];
switch (command) {
  case 'up':
    await up();
    break;
  case 'down':
    await down();
    break;
  case 'env': {
    const state = readState();
    if (!state?.processes.some(isOurs)) {
      console.error('no cluster is up; start one with: npm run cluster -- up');
      process.exit(1);
    }
    console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
    break;
  }
  case 'status': {
    const state = readState();
    for (const p of state?.processes ?? []) {
      const rss = isOurs(p) ? /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] : undefined;
      console.log(`${p.name}: pid ${p.pid} ${rss ? `running, RSS ${Math.round(Number(rss) / 1024)} MB` : 'gone'}`);
    }
    if (!state) console.log('no cluster recorded');
    break;
  }
  default:
    console.error('usage: npm run cluster -- up [--no-kcm] [--nodes] [--flux] | down | env | status');
    process.exit(2);
}

/**
 * A real Kubernetes control plane for tests: etcd + kube-apiserver (+ kube-controller-manager), built by
 * `bash test/cluster/build`, started on free loopback ports with throwaway PKI, stopped by process group.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));

export const versions: { kubernetes: string; etcd: string; kwok: string; flux: string; argocd: string } = JSON.parse(
  readFileSync(path.join(here, 'versions.json'), 'utf8'),
);

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager';

export interface ControlPlaneOptions {
  /** Run kube-controller-manager too (Jobs get Pods, namespaces get deleted, `default` SAs appear). */
  controllerManager?: boolean;
  /**
   * Kill every component if this Node process dies, even by SIGKILL (a watchdog process holds a pipe to us).
   * Off for `cluster up`, whose components must outlive the CLI.
   */
  tether?: boolean;
}

/** A process that runs on the control plane (scheduler, KWOK, Flux: nodes.ts, flux.ts), managed like its own components. */
export interface ExtraComponent {
  name: string;
  binary: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Polled until true (90 s at most). */
  ready: () => Promise<boolean>;
}

export interface ControlPlane {
  readonly kubeconfigPath: string;
  readonly server: string;
  /** Temp dir with pki/, logs/ and the kubeconfig. */
  readonly dir: string;
  /** etcd's data dir (under /dev/shm when it exists). */
  readonly dataDir: string;
  /** Executable per component, to recognise our processes by /proc/PID/exe. */
  readonly binaries: Record<ComponentName, string>;
  /** Log file per running component. */
  readonly logs: Record<string, string>;
  /** Current PID (= process group id) per running component; changes on restart. */
  pids(): Partial<Record<ComponentName, number>> & Record<string, number>;
  /**
   * Starts one more component: same process group handling, tether and logs as the control plane's own;
   * stopped before them (last started, first stopped). Resolves when `ready()` is true.
   */
  addComponent(component: ExtraComponent): Promise<void>;
  /** Stops the API server and starts it again on the same port; resolves when /readyz is OK. */
  restartApiServer(): Promise<void>;
  restart(name: ComponentName | string): Promise<void>;
  /** Stops everything (SIGTERM, then SIGKILL after 10 s) and removes the temp dirs unless keepLogs. */
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
}

export const BUILD_COMMAND = 'bash test/cluster/build';

/** Where `test/cluster/build` puts each component, one directory per component and version. */
export function cacheDir(): string {
  return path.join(process.env.TASKPLANE_CACHE ?? path.join(homedir(), '.cache', 'taskplane'), 'controlplane');
}

export function binaryPaths(): Record<ComponentName, string> {
  const kube = path.join(cacheDir(), `k8s-${versions.kubernetes}`, 'bin');
  return {
    etcd: path.join(cacheDir(), `etcd-${versions.etcd}`, 'bin', 'etcd'),
    'kube-apiserver': path.join(kube, 'kube-apiserver'),
    'kube-controller-manager': path.join(kube, 'kube-controller-manager'),
  };
}

function requireBinary(name: ComponentName): string {
  const bin = binaryPaths()[name];
  if (!existsSync(bin)) {
    throw new Error(`${name} ${name === 'etcd' ? versions.etcd : versions.kubernetes} is not built (${bin} is missing). ` +
      `Build it from the repo root with: ${BUILD_COMMAND}`);
  }
  return bin;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('openssl is not installed; the test PKI needs it. Install it with: apt-get install -y openssl');
    }
    throw new Error(`openssl ${args.join(' ')} failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
}

/** Two CAs (serving, client), a serving cert for 127.0.0.1/localhost, an admin client cert, an SA key. */
function generatePki(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'client-ca']) {
    openssl(dir, ['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '7',
      '-subj', `/CN=taskplane-test-${ca}`]);
  }
  const leaf = (name: string, subj: string, ca: string, ext: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
      '-CAcreateserial', '-days', '7', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  };
  leaf('apiserver', '/CN=kube-apiserver', 'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  leaf('admin', '/O=system:masters/CN=admin', 'client-ca',
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key']);
}

function writeKubeconfig(file: string, server: string, pki: string): void {
  const b64 = (f: string) => readFileSync(path.join(pki, f)).toString('base64');
  writeFileSync(file, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'taskplane-test', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64('admin.crt'), 'client-key-data': b64('admin.key') } }],
    contexts: [{ name: 'taskplane-test', context: { cluster: 'taskplane-test', user: 'admin' } }],
    'current-context': 'taskplane-test',
  }));
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  done: boolean;
}

// What the emergency exit path must clean: our process groups and etcd data dirs (in RAM under /dev/shm).
const live = new Set<number>();
const liveDataDirs = new Set<string>();
let exitHooksInstalled = false;

function killAllSync(): void {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const d of liveDataDirs) rmSync(d, { recursive: true, force: true });
  liveDataDirs.clear();
}

/** Crash paths only: normal shutdown goes through stop(). Re-raises signals when nobody else handles them. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAllSync();
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
  process.on('uncaughtException', (err) => {
    killAllSync();
    if (process.listenerCount('uncaughtException') === 1) {
      console.error(err);
      process.exit(1);
    }
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function get(url: string, tls?: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).get(url, { ...tls, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const bins: Record<string, string> = {
    etcd: requireBinary('etcd'),
    'kube-apiserver': requireBinary('kube-apiserver'),
    'kube-controller-manager': opts.controllerManager ? requireBinary('kube-controller-manager') : '',
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'taskplane-cp-'));
  // etcd in RAM when possible: fsync-free and no disk I/O on a 2-core box.
  const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const etcdData = mkdtempSync(path.join(shm, 'taskplane-etcd-'));
  const pki = path.join(dir, 'pki');
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir);
  generatePki(pki);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, server, pki);
  const tls: https.RequestOptions = {
    ca: readFileSync(path.join(pki, 'ca.crt')),
    cert: readFileSync(path.join(pki, 'admin.crt')),
    key: readFileSync(path.join(pki, 'admin.key')),
  };

  const args: Record<string, string[]> = {
    etcd: [
      '--name=taskplane', `--data-dir=${etcdData}`, '--unsafe-no-fsync=true',
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=taskplane=http://127.0.0.1:${peerPort}`,
    ],
    'kube-apiserver': [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--cert-dir=${pki}`, `--tls-cert-file=${pki}/apiserver.crt`, `--tls-private-key-file=${pki}/apiserver.key`,
      `--client-ca-file=${pki}/client-ca.crt`, '--authorization-mode=Node,RBAC',
      // A loopback advertise address is fine for us but not for the endpoint reconciler of the `kubernetes` Service.
      '--endpoint-reconciler-type=none',
      '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true',
      `--service-account-issuer=${server}`, `--service-account-key-file=${pki}/sa.key`,
      `--service-account-signing-key-file=${pki}/sa.key`,
      // Without KCM nothing creates `default` ServiceAccounts, and the admission plugin would reject every Pod.
      ...(opts.controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
    ],
    'kube-controller-manager': [
      `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0',
      `--service-account-private-key-file=${pki}/sa.key`, `--root-ca-file=${pki}/ca.crt`,
      '--use-service-account-credentials=false', '--controllers=*',
    ],
  };

  const running = new Map<string, Running>();
  const env: Record<string, Record<string, string>> = {};
  const logs: Record<string, string> = {};
  const fail = (msg: string): Error =>
    new Error(`${msg}\nComponent logs (kept) in ${logDir}:\n` +
      Object.entries(logs).map(([n, f]) => `--- ${n}: ${f}\n${tail(f)}`).join('\n'));

  if (opts.tether) installExitHooks();
  // A watchdog that SIGKILLs our process groups when its stdin (a pipe from us) closes, i.e. when we die
  // without running any JS (SIGKILL, OOM). It reads the current groups from a file we keep up to date.
  const pidFile = path.join(dir, 'pgids');
  writeFileSync(pidFile, '');
  let watchdog: ChildProcess | undefined;
  if (opts.tether) {
    liveDataDirs.add(etcdData);
    watchdog = spawn('sh', ['-c', 'cat >/dev/null; for g in $(cat "$1"); do kill -9 "-$g" 2>/dev/null; done; rm -rf "$2"',
      'sh', pidFile, etcdData], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog.unref();
    (watchdog.stdin as unknown as { unref(): void }).unref();
  }
  const syncPidFile = () =>
    writeFileSync(pidFile, [...running.values()].filter((r) => !r.done).map((r) => r.child.pid).join('\n'));

  const launch = (name: string): Running => {
    const log = path.join(logDir, `${name}.log`);
    logs[name] = log;
    const fd = openSync(log, 'a');
    // detached: own process group, so stop() can signal the whole group and a terminal ^C does not race us.
    const child = spawn(bins[name]!, args[name]!, {
      detached: true, stdio: ['ignore', fd, fd], env: env[name] ? { ...process.env, ...env[name] } : process.env,
    });
    closeSync(fd);
    if (child.pid === undefined) throw fail(`could not start ${name} (${bins[name]})`);
    const r: Running = { child, done: false, exited: Promise.resolve() };
    r.exited = new Promise((resolve) => child.once('exit', () => {
      r.done = true;
      live.delete(child.pid!);
      resolve();
    }));
    if (!opts.tether) child.unref();
    else live.add(child.pid);
    running.set(name, r);
    syncPidFile();
    return r;
  };

  const waitFor = async (name: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
    const r = running.get(name)!;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (r.done) throw fail(`${name} exited during start-up (code ${r.child.exitCode}, signal ${r.child.signalCode})`);
      if (await check().catch(() => false)) return;
      await sleep(100);
    }
    throw fail(`${name} not ready after ${timeoutMs / 1000}s`);
  };

  const ready: Record<string, () => Promise<boolean>> = {
    etcd: async () => {
      const res = await get(`http://127.0.0.1:${etcdPort}/health`);
      return res.status === 200 && JSON.parse(res.body).health === 'true';
    },
    'kube-apiserver': async () => (await get(`${server}/readyz`, tls)).status === 200,
    // KCM serves nothing (--secure-port=0); its serviceaccount controller creating `default` proves it runs.
    'kube-controller-manager': async () =>
      (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)).status === 200,
  };

  const stopOne = async (name: string) => {
    const r = running.get(name);
    if (!r || r.done) return;
    const pgid = r.child.pid!;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pgid, s);
      } catch {
        // group already gone
      }
    };
    signal('SIGTERM');
    const killed = await Promise.race([r.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!killed) {
      signal('SIGKILL');
      await r.exited;
    }
    syncPidFile();
  };

  const order: string[] = ['etcd', 'kube-apiserver', ...(opts.controllerManager ? ['kube-controller-manager'] : [])];
  let stopped = false;
  const stop = async ({ keepLogs = false } = {}) => {
    if (stopped) return;
    stopped = true;
    for (const name of [...order].reverse()) await stopOne(name);
    watchdog?.stdin?.end(); // empty pid file by now: the watchdog just exits
    rmSync(etcdData, { recursive: true, force: true });
    liveDataDirs.delete(etcdData);
    if (!keepLogs) rmSync(dir, { recursive: true, force: true });
  };

  const restart = async (name: string) => {
    await stopOne(name);
    launch(name);
    await waitFor(name, ready[name]!);
  };

  const addComponent = async (c: ExtraComponent) => {
    if (stopped) throw new Error(`cannot start ${c.name}: the control plane is stopped`);
    if (order.includes(c.name)) throw new Error(`component ${c.name} is already running`);
    bins[c.name] = c.binary;
    args[c.name] = c.args;
    if (c.env) env[c.name] = c.env;
    ready[c.name] = c.ready;
    order.push(c.name);
    launch(c.name);
    await waitFor(c.name, c.ready);
  };

  try {
    for (const name of order) {
      launch(name);
      await waitFor(name, ready[name]!);
    }
  } catch (err) {
    await stop({ keepLogs: true });
    throw err;
  }

  return {
    kubeconfigPath,
    server,
    dir,
    dataDir: etcdData,
    binaries: bins,
    logs,
    pids: () =>
      Object.fromEntries([...running].filter(([, r]) => !r.done).map(([n, r]) => [n, r.child.pid!])),
    addComponent,
    restart,
    restartApiServer: () => restart('kube-apiserver'),
    stop,
  };
}

/** True while a process with this PID exists (zombies of other parents count as gone for our purposes). */
export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

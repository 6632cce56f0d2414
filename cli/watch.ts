/** `taskplane watch`: runs the watcher until SIGTERM/SIGINT. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { createMetrics } from '../watcher/metrics.js';
import { startProbeServer } from '../watcher/server.js';
import { Watcher, type HttpSettings } from '../watcher/controller.js';
import { EgressPolicy } from '../watcher/http-egress.js';
import { parseTaskResources } from '../engine/task-kinds.js';
import { loadKubeConfig, UsageError, type ConnectionFlags } from './kube.js';

export interface WatchFlags extends ConnectionFlags {
  readonly namespace?: string;
  readonly metricsAddress: string;
  /** `true` or `false`, as given. */
  readonly leaderElect: string | boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity?: string;
  /** `--shards`: a whole number of at least 1, as given. */
  readonly shards: string | number;
  /** `--leader-elect-lease-duration`, `--leader-elect-renew-deadline`, `--leader-elect-retry-period`: durations such as `15s` or `500ms`. */
  readonly leaseDuration: string;
  readonly renewDeadline: string;
  readonly retryPeriod: string;
  /** A whole number of at least 1, as given. */
  readonly workers: string | number;
  readonly logLevel: string;
  /** `--task-resources`: comma-separated `resource.group` names. */
  readonly taskResources?: string;
  /** `--http-concurrency`: HTTP task requests in flight at once. */
  readonly httpConcurrency?: string;
  /** `--http-egress-hosts`: comma-separated host names or `*.suffix` patterns. */
  readonly httpEgressHosts?: string;
  /** `--http-egress-cidrs`: comma-separated CIDRs. */
  readonly httpEgressCidrs?: string;
  /** `--http-ca-file`: PEM certificates trusted for HTTP tasks besides Node's roots. */
  readonly httpCaFile?: string;
}

const list = (text: string | undefined) => (text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== ''));

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The flags checked all at once; every wrong one is named with what would be valid. */
export function parseWatchFlags(flags: WatchFlags) {
  const errors: string[] = [];
  const workers = Number(flags.workers);
  if (String(flags.workers).trim() === '' || !Number.isInteger(workers) || workers < 1) errors.push(`--workers: got "${flags.workers}"; valid: a whole number of at least 1, e.g. --workers 2`);
  const leaderElect = String(flags.leaderElect);
  if (leaderElect !== 'true' && leaderElect !== 'false') errors.push(`--leader-elect: got "${leaderElect}"; valid: true or false`);
  const at = flags.metricsAddress.lastIndexOf(':');
  const port = Number(flags.metricsAddress.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535 || flags.metricsAddress.slice(at + 1) === '') {
    errors.push(`--metrics-address: got "${flags.metricsAddress}"; valid: HOST:PORT with a port from 0 to 65535, e.g. 0.0.0.0:8080`);
  }
  if (!LOG_LEVELS.includes(flags.logLevel)) errors.push(`--log-level: got "${flags.logLevel}"; valid: ${LOG_LEVELS.join(', ')}`);
  if (!flags.leaseName) errors.push('--lease-name: must not be empty');
  if (!flags.leaseNamespace) errors.push('--lease-namespace: must not be empty');
  const shards = Number(flags.shards);
  if (String(flags.shards).trim() === '' || !Number.isInteger(shards) || shards < 1) errors.push(`--shards: got "${flags.shards}"; valid: a whole number of at least 1, e.g. --shards 2`);
  else if (shards > 1 && leaderElect === 'false') errors.push(`--shards: got ${shards} with --leader-elect=false; shards are held through Leases: use --leader-elect=true, or --shards 1`);
  const timings = parseLeaseTimings(flags, errors);
  const taskResources = flags.taskResources === undefined ? undefined : parseTaskResources(flags.taskResources);
  if (taskResources?.errors.length) errors.push(`--task-resources: got "${flags.taskResources}": ${taskResources.errors.join('; ')}`);
  const http = parseHttpFlags(flags, errors);
  if (errors.length) throw new UsageError(errors.join('\n'));
  return { http, workers, shards, timings, leaderElect: leaderElect === 'true', host: flags.metricsAddress.slice(0, at) || '0.0.0.0', port, taskResources: taskResources?.resources };
}

/** A duration as Go writes one: `15s`, `500ms`, `1m`, `1.5s`. */
function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']) : undefined;
}

/** client-go's rules: the retry period is shorter than the renew deadline, which is shorter than the lease duration. */
function parseLeaseTimings(flags: WatchFlags, errors: string[]) {
  const read = (flag: string, text: string) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) errors.push(`--${flag}: got "${text}"; valid: a positive duration such as 15s or 500ms`);
    return ms;
  };
  const lease = read('leader-elect-lease-duration', flags.leaseDuration);
  const renew = read('leader-elect-renew-deadline', flags.renewDeadline);
  const retry = read('leader-elect-retry-period', flags.retryPeriod);
  if (lease && renew && renew >= lease) errors.push(`--leader-elect-renew-deadline: ${flags.renewDeadline} must be shorter than --leader-elect-lease-duration (${flags.leaseDuration})`);
  if (renew && retry && retry >= renew) errors.push(`--leader-elect-retry-period: ${flags.retryPeriod} must be shorter than --leader-elect-renew-deadline (${flags.renewDeadline})`);
  if (lease && lease % 1000 !== 0) errors.push(`--leader-elect-lease-duration: got "${flags.leaseDuration}"; a Lease holds whole seconds, e.g. 15s`);
  return { leaseDurationSeconds: (lease ?? 15_000) / 1000, renewDeadlineMs: renew ?? 10_000, retryPeriodMs: retry ?? 2000 };
}

function parseHttpFlags(flags: WatchFlags, errors: string[]): HttpSettings {
  const concurrency = flags.httpConcurrency === undefined ? undefined : Number(flags.httpConcurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) errors.push(`--http-concurrency: got "${flags.httpConcurrency}"; valid: a whole number of at least 1`);
  const egress = { ...(flags.httpEgressHosts !== undefined && { hosts: list(flags.httpEgressHosts)! }), ...(flags.httpEgressCidrs !== undefined && { cidrs: list(flags.httpEgressCidrs)! }) };
  try {
    new EgressPolicy(egress);
  } catch (error) {
    errors.push(`--http-egress-hosts/--http-egress-cidrs: ${(error as Error).message}`);
  }
  let ca: string | undefined;
  if (flags.httpCaFile !== undefined) {
    try {
      ca = readFileSync(flags.httpCaFile, 'utf8');
    } catch (error) {
      errors.push(`--http-ca-file: cannot read "${flags.httpCaFile}": ${(error as Error).message}`);
    }
  }
  return { ...(concurrency !== undefined && { concurrency }), egress, ...(ca && { ca }) };
}

export async function watch(flags: WatchFlags): Promise<void> {
  const { workers, shards, timings, leaderElect, host, port, taskResources, http } = parseWatchFlags(flags);
  const logger = pino({ level: flags.logLevel, base: { component: 'taskplane-watcher' } });
  const metrics = createMetrics();
  const identity = flags.identity ?? `${hostname()}-${process.pid}`;
  const watcher = new Watcher({
    kubeConfig: loadKubeConfig(flags),
    logger,
    metrics,
    namespace: flags.namespace,
    workers,
    http,
    ...(taskResources && { taskResources }),
    ...(leaderElect && { leaderElection: { namespace: flags.leaseNamespace, name: flags.leaseName, identity, shards, ...timings } }),
  });
  const server = await startProbeServer(port, host, { registry: metrics.registry, readiness: () => watcher.readiness() });
  logger.info({ address: flags.metricsAddress, identity, namespace: flags.namespace ?? '(all)' }, 'serving /metrics, /healthz, /readyz');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    await watcher.stop();
    server.close();
  };
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(signal).then(resolve));
  });
  await watcher.start();
  await stopped;
}

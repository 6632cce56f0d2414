/** `taskplane watch`: runs the watcher until SIGTERM/SIGINT. */
import { hostname } from 'node:os';
import { pino } from 'pino';
import { createMetrics } from '../watcher/metrics.js';
import { startProbeServer } from '../watcher/server.js';
import { Watcher } from '../watcher/controller.js';
import { parseTaskResources } from '../engine/task-kinds.js';
import { loadKubeConfig, UsageError, type ConnectionFlags } from './kube.js';

export interface WatchFlags extends ConnectionFlags {
  readonly namespace?: string;
  readonly metricsAddress: string;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity?: string;
  readonly workers: number;
  readonly logLevel: string;
  /** `--task-resources`: comma-separated `resource.group` names. */
  readonly taskResources?: string;
}

export async function watch(flags: WatchFlags): Promise<void> {
  const taskResources = flags.taskResources === undefined ? undefined : parseTaskResources(flags.taskResources);
  if (taskResources?.errors.length) throw new UsageError(`--task-resources ${flags.taskResources}: ${taskResources.errors.join('; ')}`);
  const logger = pino({ level: flags.logLevel, base: { component: 'taskplane-watcher' } });
  const metrics = createMetrics();
  const identity = flags.identity ?? `${hostname()}-${process.pid}`;
  const watcher = new Watcher({
    kubeConfig: loadKubeConfig(flags),
    logger,
    metrics,
    namespace: flags.namespace,
    workers: flags.workers,
    ...(taskResources && { taskResources: taskResources.resources }),
    ...(flags.leaderElect && { leaderElection: { namespace: flags.leaseNamespace, name: flags.leaseName, identity } }),
  });
  const [host, port] = splitAddress(flags.metricsAddress);
  const server = await startProbeServer(port, host, { registry: metrics.registry, ready: () => watcher.ready() });
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

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at) || '0.0.0.0', Number(address.slice(at + 1))];
}

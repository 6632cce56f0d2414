/**
 * vitest globalSetup of the `cluster` project: one control plane (etcd, kube-apiserver,
 * kube-controller-manager) for all `*.cluster.test.ts` files; tests read it with `inject('cluster')`
 * (see client.ts). Teardown stops it and fails if any of its processes survived.
 */
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { KUBECONFIG_ENV } from './client.js';
import { processExists, startControlPlane, versions } from './harness.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cp = await startControlPlane({ controllerManager: true, tether: true });
  const pids = cp.pids() as Record<string, number>;
  const logDir = path.join(cp.dir, 'logs');
  console.log(`cluster: Kubernetes ${versions.kubernetes} + etcd ${versions.etcd} ready at ${cp.server} ` +
    `in ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${logDir}`);
  project.provide('cluster', {
    kubeconfigPath: cp.kubeconfigPath,
    server: cp.server,
    version: versions.kubernetes,
    etcdVersion: versions.etcd,
    pids,
    logDir,
  });
  // For helpers outside the test context (e.g. child processes a test spawns).
  process.env[KUBECONFIG_ENV] = cp.kubeconfigPath;

  return async () => {
    const failed = project.vitest.state.getCountOfFailedTests() > 0;
    await cp.stop({ keepLogs: failed });
    if (failed) console.log(`cluster: tests failed; control plane logs kept in ${logDir}`);
    const survivors = Object.entries(pids).filter(([, pid]) => processExists(pid));
    if (survivors.length) throw new Error(`cluster: processes survived teardown: ${JSON.stringify(survivors)}`);
  };
}

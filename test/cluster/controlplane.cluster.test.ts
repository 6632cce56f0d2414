import { VersionApi } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clients, clusterInfo, createNamespace, kubeConfig, rawGet } from './client.js';
import { processExists, startControlPlane, versions } from './harness.js';

describe('shared control plane', () => {
  it('reports the pinned Kubernetes version', async () => {
    const v = await kubeConfig().makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).toBe(versions.kubernetes);
    expect(`v1.${v.minor}`).toBe(versions.kubernetes.split('.').slice(0, 2).join('.'));
    expect(clusterInfo().version).toBe(versions.kubernetes);
  });

  it('is healthy, etcd included', async () => {
    for (const p of ['/livez', '/readyz', '/readyz/etcd']) expect(await rawGet(p)).toEqual({ status: 200, body: 'ok' });
    expect((await rawGet('/readyz?verbose')).body).toContain('[+]etcd ok');
  });

  it('runs kube-controller-manager: new namespaces get a default ServiceAccount', async () => {
    const ns = await createNamespace('cp');
    await ns.delete();
  });
});

describe('harness', () => {
  it('restarts the API server on the same address and stops every process it started', async () => {
    const cp = await startControlPlane({ tether: true });
    try {
      const kc = kubeConfig(cp.kubeconfigPath);
      const core = clients(kc).core;
      await core.createNamespace({ body: { metadata: { name: 'survives-restart' } } });
      const before = cp.pids()['kube-apiserver']!;
      await cp.restartApiServer();
      expect(cp.pids()['kube-apiserver']).not.toBe(before);
      expect(processExists(before)).toBe(false);
      // Same kubeconfig, same port, data kept in etcd.
      expect((await core.readNamespace({ name: 'survives-restart' })).metadata?.name).toBe('survives-restart');
    } finally {
      const pids = Object.values(cp.pids());
      expect(pids).toHaveLength(2);
      await cp.stop();
      expect(pids.filter(processExists)).toEqual([]);
      expect(existsSync(cp.dir) || existsSync(cp.dataDir)).toBe(false);
    }
  });
});

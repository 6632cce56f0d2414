/**
 * A fresh dist/ applied to an empty control plane (one started for each way, not the shared one), the
 * ways users apply it, with the real kubectl (and the kustomize built into it):
 *  - kubectl: the CRDs file, wait until Established, then `kubectl apply -R -f dist/`. kubectl resolves
 *    every object's kind before it applies any, so no file order lets one invocation create a CRD and
 *    objects of it (kubectl reports "ensure CRDs are installed first"); the Namespaces must still come
 *    first in its walk, which 00-namespaces.k8s.yaml does.
 *  - Flux: two Kustomizations, `dist/00-setup` (Namespaces, the jobs' ServiceAccounts) and then everything
 *    else, each applied as kustomize-controller does (fluxcd/pkg/ssa ApplyAllStaged): CRDs, Namespaces and
 *    ClusterRoles first, waiting for the CRDs, then the rest; each stage dry-run (server-side) as a whole
 *    before any of it is applied (emulated with kubectl; test/gitops/flux.cluster.test.ts does it for real).
 *  - Argo CD: by sync wave (CRDs -1), within a wave in Argo CD's kind order, each wave server-side and
 *    healthy (CRDs Established) before the next (emulated with kubectl).
 * Each way must succeed at once, with nothing on stderr, and leave every object of dist/ in the cluster.
 * The control plane runs kube-controller-manager, so admission checks a Pod's ServiceAccount as in a cluster.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { startControlPlane, type ControlPlane } from '../cluster/harness.js';

const repo = path.resolve(import.meta.dirname, '../..');
const CRDS = ['crd/jobconfigs.taskplane.dev', 'crd/jobruns.taskplane.dev', 'crd/httptasks.taskplane.dev', 'crd/taskcacheentries.taskplane.dev'];

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

const identity = (o: Manifest) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function kubectlOnPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('these tests apply dist/ with the real kubectl, which is not on PATH; install it (e.g. apt-get install kubectl from pkgs.k8s.io, see https://kubernetes.io/docs/tasks/tools/)');
  }
}

function kubectl(cp: ControlPlane, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(kubectlOnPath(), [`--kubeconfig=${cp.kubeconfigPath}`, ...args], { cwd: repo, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function ok(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const result = await kubectl(cp, args, input);
  expect({ args: args.join(' '), stderr: result.stderr, code: result.code }).toEqual({ args: args.join(' '), stderr: '', code: 0 });
  return result.stdout;
}

const waitForCrds = (cp: ControlPlane) => ok(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...CRDS]);

/** Argo CD's order of kinds within a wave (gitops-engine's kindOrder, the part that occurs here). */
const ARGO_KIND_ORDER = ['Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodSecurityPolicy', 'PodDisruptionBudget', 'ServiceAccount', 'Secret', 'SecretList', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleList', 'ClusterRoleBinding', 'ClusterRoleBindingList', 'Role', 'RoleList', 'RoleBinding', 'RoleBindingList', 'Service', 'DaemonSet', 'Pod', 'ReplicationController', 'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob', 'IngressClass', 'Ingress', 'APIService'];
const argoKindRank = (kind: string) => (ARGO_KIND_ORDER.includes(kind) ? ARGO_KIND_ORDER.indexOf(kind) : ARGO_KIND_ORDER.length);

describe('a fresh dist/ applies to an empty cluster on the first try', () => {
  let dist: string;
  let cp: ControlPlane | undefined;

  beforeAll(() => {
    kubectlOnPath();
    dist = mkdtempSync(path.join(tmpdir(), 'taskplane-first-apply-'));
    execFileSync(path.join(repo, 'node_modules/.bin/tsx'), [path.join(repo, 'test/fixtures/apply-app/main.ts')], { env: { ...process.env, CDK8S_OUTDIR: dist } });
  });
  afterAll(async () => {
    await cp?.stop();
    rmSync(dist, { recursive: true, force: true });
  });

  const fresh = async () => {
    await cp?.stop();
    cp = await startControlPlane({ controllerManager: true, tether: true });
    return cp;
  };

  /** Every object of dist/ exists in the cluster (kubectl get -f fails for any that does not). */
  async function expectEverythingApplied(cluster: ControlPlane): Promise<void> {
    const names = (await ok(cluster, ['get', '-R', '-f', dist, '-o', 'name'])).trim().split('\n');
    expect(names).toContain('namespace/batch');
    expect(names).toContain('jobconfig.taskplane.dev/pods');
    expect(names).toContain('jobrun.taskplane.dev/pods-later');
    expect(names).toContain('serviceaccount/pods-runner');
    expect(names).toContain('pod/pods-first-1-0');
    expect(names).toContain('job.batch/jobs-first-0-0');
    expect(names).toContain('deployment.apps/taskplane-watcher');
  }

  it('kubectl: the CRDs, then kubectl apply -R -f dist/', { timeout: 180_000 }, async () => {
    const cluster = await fresh();
    await ok(cluster, ['apply', '-f', path.join(dist, 'taskplane.k8s.yaml')]);
    await waitForCrds(cluster);
    await ok(cluster, ['apply', '-R', '-f', dist]);
    await expectEverythingApplied(cluster);
  });

  it('Flux: a Kustomization for dist/00-setup, then one for the rest, each in kustomize-controller\'s stages', { timeout: 180_000 }, async () => {
    const cluster = await fresh();
    const setupDir = path.join(dist, '00-setup');
    const setup = readdirSync(setupDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort()
      .flatMap((f) => parseAllDocuments(readFileSync(path.join(setupDir, f), 'utf8')).map((d) => d.toJS() as Manifest));
    expect(setup.map(identity)).toEqual(['Namespace /batch', 'ServiceAccount batch/pods-runner']);
    const inSetup = new Set(setup.map(identity));
    const rest = parseAllDocuments(await ok(cluster, ['kustomize', dist])).map((d) => d.toJS() as Manifest).filter((o) => !inSetup.has(identity(o)));
    // fluxcd/pkg/ssa ApplyAllStaged: CRDs, Namespaces and ClusterRoles, waited for; then everything else.
    // ApplyAll dry-runs every object of a stage before it applies any: one refusal and nothing is applied.
    for (const objects of [setup, rest]) {
      const definition = (o: Manifest) => ['CustomResourceDefinition', 'Namespace', 'ClusterRole'].includes(o.kind);
      for (const stage of [objects.filter(definition), objects.filter((o) => !definition(o))]) {
        if (stage.length === 0) continue;
        const input = stage.map((o) => stringify(o)).join('---\n');
        await ok(cluster, ['apply', '--server-side', '--field-manager=kustomize-controller', '--dry-run=server', '-f', '-'], input);
        await ok(cluster, ['apply', '--server-side', '--field-manager=kustomize-controller', '-f', '-'], input);
        if (stage.some((o) => o.kind === 'CustomResourceDefinition')) await waitForCrds(cluster);
      }
    }
    await expectEverythingApplied(cluster);
  });

  it('Argo CD: wave by wave (the CRDs carry wave -1), each healthy before the next', { timeout: 180_000 }, async () => {
    const cluster = await fresh();
    const objects = parseAllDocuments(await ok(cluster, ['kustomize', dist])).map((d) => d.toJS() as Manifest);
    const wave = (o: Manifest) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const waves = [...new Set(objects.map(wave))].sort((a, b) => a - b);
    expect(waves).toEqual([-1, 0]);
    for (const w of waves) {
      const inWave = objects.filter((o) => wave(o) === w).sort((a, b) => argoKindRank(a.kind) - argoKindRank(b.kind));
      await ok(cluster, ['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], inWave.map((o) => stringify(o)).join('---\n'));
      if (inWave.some((o) => o.kind === 'CustomResourceDefinition')) await waitForCrds(cluster);
    }
    await expectEverythingApplied(cluster);
  });
});

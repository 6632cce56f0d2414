import { readFileSync } from 'node:fs';
import { Chart, Size, Testing, Yaml } from 'cdk8s';
import { Cpu, ImagePullPolicy } from 'cdk8s-plus-28';
import { describe, expect, it } from 'vitest';
import { TaskplaneApp, WatcherExecutor, WatcherInstall, type WatcherInstallProps } from '../../constructs/index.js';
import { releasedWatcherImage, WATCHER_IMAGE_REPOSITORY } from '../../engine/release.js';
import { tempOutdir } from '../_synth.js';

const IMAGE = 'registry.example.com/platform/taskplane:0.1.0';
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);

/** The install in a chart that has a namespace of its own: the cdk8s trap must not reach cluster-scoped objects. */
function synth(props: Partial<WatcherInstallProps> = {}): any[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'chart-namespace' });
  new WatcherInstall(chart, 'watcher', { image: IMAGE, ...props });
  return chart.toJson();
}

const only = (objects: any[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
};
const container = (objects: any[]) => only(objects, 'Deployment').spec.template.spec.containers[0];
/** The watcher's own ClusterRole (the personas' are ClusterRoles too). */
const watcherRole = (objects: any[]) => objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'taskplane-watcher');
const PERSONAS = ['taskplane-viewer', 'taskplane-runner', 'taskplane-editor', 'taskplane-aggregate-view', 'taskplane-aggregate-run', 'taskplane-aggregate-edit'];

describe('WatcherInstall', () => {
  it('defaults to the image this release publishes: ghcr.io/taskplane/watcher at package.json\'s version, which npm run image tags', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const chart = new Chart(Testing.app(), 'platform');
    new WatcherInstall(chart, 'watcher');
    expect(container(chart.toJson())).toMatchObject({ image: `ghcr.io/taskplane/watcher:${version}`, imagePullPolicy: 'IfNotPresent' });
    // The image build names its output the same way (docker load tags it so; skopeo/crane push it there).
    expect(readFileSync(new URL('../../image/build.ts', import.meta.url), 'utf8')).toContain('const ref = `${WATCHER_IMAGE_REPOSITORY}:${pkg.version}`;');
    expect(releasedWatcherImage()).toBe(`${WATCHER_IMAGE_REPOSITORY}:${version}`);
  });

  it('matches its YAML snapshot', async () => {
    await expect(Yaml.stringify(...synth({ crds: false }))).toMatchFileSnapshot('__snapshots__/watcher-install.k8s.yaml');
  });

  it('emits, in apply order, the Namespace, CRDs, ServiceAccount, RBAC, Deployment, PodDisruptionBudget and the personas', () => {
    expect(synth().map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/taskplane-system',
      'CustomResourceDefinition/jobconfigs.taskplane.dev',
      'CustomResourceDefinition/jobruns.taskplane.dev',
      'CustomResourceDefinition/httptasks.taskplane.dev',
      'CustomResourceDefinition/taskcacheentries.taskplane.dev',
      'ServiceAccount/taskplane-watcher',
      'ClusterRole/taskplane-watcher',
      'ClusterRoleBinding/taskplane-watcher',
      'Role/taskplane-watcher-leader-election',
      'RoleBinding/taskplane-watcher-leader-election',
      'Deployment/taskplane-watcher',
      'PodDisruptionBudget/taskplane-watcher',
      ...PERSONAS.map((name) => `ClusterRole/${name}`),
    ]);
  });

  it('puts no namespace on cluster-scoped objects and its own namespace on all others, whatever the chart says', () => {
    for (const object of synth()) {
      if (CLUSTER_SCOPED.has(object.kind)) expect(object.metadata.namespace, object.kind).toBeUndefined();
      else expect(object.metadata.namespace, object.kind).toBe('taskplane-system');
    }
    const custom = synth({ namespace: 'ops', watchNamespace: 'batch', crds: false });
    expect(custom.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}`)).toEqual([
      'Namespace -', 'ServiceAccount ops', 'Role batch', 'RoleBinding batch', 'Role ops', 'RoleBinding ops', 'Deployment ops', 'PodDisruptionBudget ops',
      ...PERSONAS.map(() => 'ClusterRole -'),
    ]);
  });

  describe('audited cdk8s-plus-28 defaults', () => {
    const objects = synth();
    const pod = only(objects, 'Deployment').spec.template.spec;
    const main = container(objects);

    it('pulls IfNotPresent, not Always', () => {
      expect(main.imagePullPolicy).toBe('IfNotPresent');
      expect(Yaml.stringify(...objects)).not.toMatch(/imagePullPolicy: Always/);
    });

    it('sets resources a watcher needs (not 1 CPU requested, no CPU limit) and a heap limit below the memory limit', () => {
      expect(main.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1024Mi' } });
      expect(main.env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=768' });
    });

    it('mounts the ServiceAccount token in the Pod (cdk8s-plus turns it off), not for every user of the ServiceAccount', () => {
      expect(pod.automountServiceAccountToken).toBe(true);
      expect(pod.serviceAccountName).toBe('taskplane-watcher');
      expect(only(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    });

    it('meets Pod Security "restricted": non-root by number, read-only root, no escalation, no capabilities, seccomp', () => {
      expect(main.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsGroup: 1000,
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(only(objects, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    });

    it('gives the read-only root filesystem a small writable /tmp (tsx writes its cache there)', () => {
      expect(main.volumeMounts).toEqual([{ mountPath: '/tmp', name: 'tmp' }]);
      expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    });

    it('probes /healthz and /readyz on the metrics port, and starts with an HTTP probe, not a TCP one', () => {
      expect(main.ports).toEqual([{ containerPort: 8080, name: 'metrics' }]);
      expect(main.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
      expect(main.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8080 });
      expect(main.startupProbe).toMatchObject({ httpGet: { path: '/healthz', port: 8080 }, failureThreshold: 30, periodSeconds: 2 });
      expect(main.startupProbe.tcpSocket).toBeUndefined();
    });

    it('runs two replicas with leader election, the Lease in its namespace, POD_NAMESPACE from the downward API', () => {
      expect(only(objects, 'Deployment').spec.replicas).toBe(2);
      expect(main.args).toEqual([
        'watch', '--metrics-address=0.0.0.0:8080', '--leader-elect=true', '--lease-namespace=taskplane-system', '--lease-name=taskplane-watcher', '--task-resources=pods,jobs.batch',
      ]);
      expect(main.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    });

    it('selects on stable labels only (a Deployment selector is immutable), with no construct-path label', () => {
      const deployment = only(objects, 'Deployment');
      expect(deployment.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'taskplane-watcher' } });
      expect(Object.keys(deployment.spec.template.metadata.labels)).not.toContain('cdk8s.io/metadata.addr');
      expect(only(objects, 'PodDisruptionBudget').spec).toEqual({ minAvailable: 1, selector: deployment.spec.selector });
    });
  });

  describe('RBAC', () => {
    it('by default: JobConfigs read-only, JobRuns created and deleted (schedules) but never updated, status patch apart, events create, Pods and Jobs without delete', () => {
      const role = watcherRole(synth());
      expect(role.rules).toEqual([
        { apiGroups: ['taskplane.dev'], resources: ['jobruns', 'jobconfigs'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['taskplane.dev'], resources: ['jobruns/status', 'jobconfigs/status'], verbs: ['patch'] },
        { apiGroups: ['taskplane.dev'], resources: ['jobruns'], verbs: ['create', 'delete'] },
        { apiGroups: ['taskplane.dev'], resources: ['jobruns/finalizers'], verbs: ['update'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['taskplane.dev'], resources: ['taskcacheentries'], verbs: ['list', 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      ]);
      const text = JSON.stringify(role.rules);
      for (const absent of ['secrets', 'nodes', 'configmaps', '"*"', 'escalate', 'bind', 'impersonate']) expect(text).not.toContain(absent);
    });

    it('follows the executors: Workflows, custom resources with delete unless every template declares killPatch; duplicates once', () => {
      const objects = synth({
        executors: [
          WatcherExecutor.workflows(),
          WatcherExecutor.customResource({ group: 'tekton.dev', resource: 'taskruns', deleteOnKill: false }),
          WatcherExecutor.customResource({ group: 'example.com', resource: 'exports' }),
          WatcherExecutor.workflows(),
        ],
      });
      expect(watcherRole(objects).rules.slice(6)).toEqual([
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
        { apiGroups: ['tekton.dev'], resources: ['taskruns'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
        { apiGroups: ['example.com'], resources: ['exports'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
      ]);
      // The watcher's own allowlist is the same kinds: it refuses any other, whatever its credentials.
      expect(container(objects).args).toContain('--task-resources=workflows.argoproj.io,taskruns.tekton.dev,exports.example.com');
    });

    it('leases: create in its namespace, get and update of its own Lease only', () => {
      const role = synth().find((o) => o.kind === 'Role');
      expect(role.metadata).toMatchObject({ name: 'taskplane-watcher-leader-election', namespace: 'taskplane-system' });
      expect(role.rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['taskplane-watcher'], verbs: ['get', 'update'] },
      ]);
    });

    it('shards: get and update of exactly the shard Leases (<name>-shard-<i>), and --shards', async () => {
      const objects = synth({ name: 'tp', shards: 3, replicas: 3, personas: false, crds: false });
      const role = objects.find((o) => o.kind === 'Role');
      expect(role.rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['tp-shard-0', 'tp-shard-1', 'tp-shard-2'], verbs: ['get', 'update'] },
      ]);
      expect(container(objects).args).toEqual(expect.arrayContaining(['--leader-elect=true', '--lease-name=tp', '--shards=3']));
      expect(only(objects, 'Deployment').spec.replicas).toBe(3);
      await expect(Yaml.stringify(role, only(objects, 'Deployment'))).toMatchFileSnapshot('__snapshots__/watcher-install-shards.k8s.yaml');
      // Without shards, nothing changes: one Lease, no flag.
      expect(container(synth()).args.filter((arg: string) => arg.startsWith('--shards'))).toEqual([]);
    });

    it('binds the ServiceAccount in its namespace', () => {
      const objects = synth({ name: 'tp', namespace: 'ops', personas: false });
      for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
        expect(only(objects, kind).subjects).toEqual([{ kind: 'ServiceAccount', name: 'tp', namespace: 'ops' }]);
      }
      expect(only(objects, 'ClusterRoleBinding').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tp' });
    });

    it('watchNamespace: a Role and RoleBinding there instead of cluster-wide rules, and --namespace', () => {
      const objects = synth({ watchNamespace: 'batch', personas: false });
      expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
      const watched = objects.find((o) => o.kind === 'Role' && o.metadata.namespace === 'batch');
      expect(watched.rules).toEqual(watcherRole(synth()).rules);
      expect(objects.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'batch').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'taskplane-watcher' });
      expect(container(objects).args).toContain('--namespace=batch');
    });
  });

  describe('props', () => {
    it('crds: included by default, left out with crds: false', () => {
      expect(synth().filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(4);
      expect(synth({ crds: false }).filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
    });

    it('createNamespace: false leaves the Namespace to someone else', () => {
      expect(synth({ createNamespace: false }).filter((o) => o.kind === 'Namespace')).toEqual([]);
    });

    it('one replica: no PodDisruptionBudget (it would block every drain), still leader election', () => {
      const objects = synth({ replicas: 1 });
      expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
      expect(container(objects).args).toContain('--leader-elect=true');
    });

    it('resources replace the default as a whole; the heap follows the memory limit, or is left alone without one', () => {
      const big = container(synth({ resources: { memory: { request: Size.gibibytes(1), limit: Size.gibibytes(2) } } }));
      expect(big.resources).toEqual({ requests: { memory: '1024Mi' }, limits: { memory: '2048Mi' } });
      expect(big.env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=1792' });
      const small = container(synth({ resources: { memory: { limit: Size.mebibytes(384) } } }));
      expect(small.env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=192' });
      const unlimited = container(synth({ resources: { cpu: { request: Cpu.millis(50) } } }));
      expect(unlimited.env.map((e: { name: string }) => e.name)).toEqual(['POD_NAMESPACE']);
    });

    it('image pull secret, workers, log level, port, user', () => {
      const objects = synth({ imagePullSecret: 'registry', workers: 4, logLevel: 'debug', metricsPort: 9090, user: 65532 });
      const pod = only(objects, 'Deployment').spec.template.spec;
      expect(pod.imagePullSecrets).toEqual([{ name: 'registry' }]);
      expect(pod.containers[0].args).toEqual(expect.arrayContaining(['--workers=4', '--log-level=debug', '--metrics-address=0.0.0.0:9090']));
      expect(pod.containers[0].readinessProbe.httpGet.port).toBe(9090);
      expect(pod.containers[0].securityContext.runAsUser).toBe(65532);
    });
  });

  describe('validation at synth, every problem at once', () => {
    function synthError(props: Partial<WatcherInstallProps>): string {
      const app = new TaskplaneApp({ outdir: tempOutdir() });
      new WatcherInstall(new Chart(app, 'platform'), 'watcher', { image: IMAGE, ...props });
      try {
        app.synth();
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    }

    it.each([
      ['registry.example.com/platform/taskplane', 'has no version'],
      ['registry.example.com:5000/taskplane:latest', '"registry.example.com:5000/taskplane:latest"'],
    ])('an unversioned image %s with IfNotPresent', (image, detail) => {
      const message = synthError({ image });
      expect(message).toContain('[platform/watcher] image: has no version');
      expect(message).toContain(detail);
      expect(message).toContain('a version tag or a digest');
    });

    it('accepts a digest, a registry port, and latest when the policy is Always', () => {
      expect(synthError({ image: 'registry.example.com:5000/taskplane@sha256:' + 'a'.repeat(64) })).toBe('');
      expect(synthError({ image: 'registry.example.com:5000/taskplane:0.1.0' })).toBe('');
      expect(synthError({ image: 'taskplane:latest', imagePullPolicy: ImagePullPolicy.ALWAYS })).toBe('');
    });

    it('reports a PodDisruptionBudget with one replica and a bad replica count together', () => {
      expect(synthError({ replicas: 1, podDisruptionBudget: true })).toContain('podDisruptionBudget: with one replica');
      const message = synthError({ image: 'taskplane', replicas: 0, podDisruptionBudget: true });
      expect(message).toContain('image: has no version');
      expect(message).toContain('replicas: must be a whole number of at least 1');
      expect(message).toContain('podDisruptionBudget: with one replica');
    });

    it('shards: a whole number of at least 1, reported with the other problems', () => {
      for (const shards of [0, 1.5, -2]) expect(synthError({ shards })).toContain(`[platform/watcher] shards: must be a whole number of at least 1`);
      const message = synthError({ shards: 0, replicas: 0 });
      expect(message).toContain('replicas: must be a whole number of at least 1');
      expect(message).toContain('shards: must be a whole number of at least 1 (got 0); valid: e.g. 2, with replicas of at least 2');
      expect(synthError({ shards: 4, replicas: 2 })).toBe('');
    });

    it('refuses executors of kinds that carry credentials or rights, whatever else is listed', () => {
      const message = synthError({
        executors: [
          WatcherExecutor.pods(),
          WatcherExecutor.customResource({ group: '', resource: 'secrets' }),
          WatcherExecutor.customResource({ group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }),
          WatcherExecutor.customResource({ group: '', resource: 'serviceaccounts' }),
        ],
      });
      expect(message).toContain('[platform/watcher] executors[1]: secrets can never be a task kind: secrets carry credentials');
      expect(message).toContain('executors[2]: clusterrolebindings.rbac.authorization.k8s.io can never be a task kind: objects of rbac.authorization.k8s.io grant identities or rights');
      expect(message).toContain('executors[3]: serviceaccounts can never be a task kind');
    });
  });

  describe('personas (aggregated ClusterRoles)', () => {
    const objects = synth({ crds: false });
    const role = (name: string) => objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === name);
    /** What the aggregation controller will put into a persona: the rules of every ClusterRole its selector matches. */
    const aggregated = (persona: string) => {
      const selector = role(persona).aggregationRule.clusterRoleSelectors[0].matchLabels as Record<string, string>;
      return objects
        .filter((o) => o.kind === 'ClusterRole' && o.rules && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v))
        .flatMap((o) => o.rules.flatMap((r: any) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${v} ${res}`))));
    };

    it('personas carry no rules of their own (the aggregation controller fills them; GitOps must not own them)', () => {
      for (const persona of ['taskplane-viewer', 'taskplane-runner', 'taskplane-editor']) expect(role(persona).rules, persona).toBeUndefined();
    });

    it('a runner may start and kill runs, and read; never define or change a JobConfig, delete runs, or write status', () => {
      const runner = aggregated('taskplane-runner');
      expect(runner).toEqual(expect.arrayContaining(['create jobruns', 'patch jobruns', 'get jobconfigs', 'list jobruns']));
      for (const denied of ['create jobconfigs', 'patch jobconfigs', 'update jobconfigs', 'delete jobconfigs', 'delete jobruns', 'update jobruns', 'patch jobruns/status']) {
        expect(runner, denied).not.toContain(denied);
      }
    });

    it("task cache entries: only the editor reads and flushes them; runners and viewers can neither read another config's results nor write any", () => {
      for (const persona of ['taskplane-runner', 'taskplane-viewer']) expect(aggregated(persona).filter((rule) => rule.endsWith(' taskcacheentries')), persona).toEqual([]);
      expect(aggregated('taskplane-editor').filter((rule) => rule.endsWith(' taskcacheentries')).sort()).toEqual(['delete', 'deletecollection', 'get', 'list', 'watch'].map((v) => `${v} taskcacheentries`));
    });

    it('an editor defines JobConfigs and manages runs; a viewer only reads, and is part of the built-in view role', () => {
      expect(aggregated('taskplane-editor')).toEqual(expect.arrayContaining(['create jobconfigs', 'update jobconfigs', 'delete jobconfigs', 'create jobruns', 'delete jobruns']));
      expect(new Set(aggregated('taskplane-viewer').map((rule) => rule.split(' ')[0]))).toEqual(new Set(['get', 'list', 'watch']));
      expect(role('taskplane-aggregate-view').metadata.labels['rbac.authorization.k8s.io/aggregate-to-view']).toBe('true');
      // Not into edit/admin: being allowed Pods in a namespace is no reason to define or run its jobs.
      const builtIn = objects.flatMap((o) => Object.keys(o.metadata.labels ?? {})).filter((k) => /aggregate-to-(edit|admin)$/.test(k) && k.startsWith('rbac.'));
      expect(builtIn).toEqual([]);
    });

    it('personas: false leaves them out (a second install in the same cluster)', () => {
      expect(synth({ personas: false }).filter((o) => PERSONAS.includes(o.metadata.name))).toEqual([]);
    });
  });
});

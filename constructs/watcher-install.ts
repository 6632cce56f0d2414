import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { FieldError } from '../engine/errors.js';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';
import { addFieldValidation } from './_validation.js';
import { TaskplaneCrds } from './taskplane-crds.js';

const k8s = kplus.k8s;

/** One RBAC rule as the API server stores it (`rbac.authorization.k8s.io/v1` PolicyRule). */
export interface WatcherPolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

/** A custom resource kind that JobConfigs use as their task executor (`TaskTemplate.customResource`). */
export interface WatcherCustomResourceProps {
  /** The kind's API group, e.g. `tekton.dev`. */
  readonly group: string;
  /** The kind's plural resource name as in its REST path and RBAC, e.g. `taskruns`. */
  readonly resource: string;
  /**
   * Let the watcher delete objects of this kind. It deletes only objects it created itself (retries,
   * Deferred tasks), and only to kill a task whose template declares no `killPatch`; RBAC cannot
   * express "only objects I created", so this grants delete on the whole kind.
   * @default true - templates without `killPatch` need it to stop watcher-created tasks; set false
   * when every template of this kind declares `killPatch`
   */
  readonly deleteOnKill?: boolean;
}

/**
 * A kind of task object the watcher follows, creates and stops: it decides the task-object rules of
 * the watcher's RBAC. List every executor your JobConfigs use.
 */
export class WatcherExecutor {
  /** `TaskTemplate.pod`: core v1 Pods. */
  public static pods(): WatcherExecutor {
    return new WatcherExecutor('', 'pods', false);
  }

  /** `TaskTemplate.job`: batch/v1 Jobs. */
  public static jobs(): WatcherExecutor {
    return new WatcherExecutor('batch', 'jobs', false);
  }

  /** `TaskTemplate.workflow`: Argo Workflows (`argoproj.io` `workflows`). */
  public static workflows(): WatcherExecutor {
    return new WatcherExecutor('argoproj.io', 'workflows', false);
  }

  /** `TaskTemplate.customResource` of one kind. */
  public static customResource(props: WatcherCustomResourceProps): WatcherExecutor {
    return new WatcherExecutor(props.group, props.resource, props.deleteOnKill ?? true);
  }

  private constructor(
    /** The API group (`''` for core). */
    public readonly group: string,
    /** The plural resource name. */
    public readonly resource: string,
    /** Whether the watcher may delete objects of this kind (watcher-created custom resources only). */
    public readonly deletes: boolean,
  ) {}

  /**
   * get (a create that found its own object), list and watch (the informer, by the `taskplane.dev/run`
   * label), create (retries and Deferred tasks), patch (kills in place: `activeDeadlineSeconds`,
   * `spec.shutdown`, a declared `killPatch`); delete only where allowed above.
   */
  public toRule(): WatcherPolicyRule {
    const verbs = ['get', 'list', 'watch', 'create', 'patch', ...(this.deletes ? ['delete'] : [])];
    return { apiGroups: [this.group], resources: [this.resource], verbs };
  }
}

/**
 * The rules the watcher needs on the namespaces it watches (a ClusterRole when it watches all of
 * them, a Role in the one it watches otherwise): exactly the calls in `watcher/controller.ts`.
 */
export function watcherRules(executors: readonly WatcherExecutor[]): WatcherPolicyRule[] {
  const seen = new Set<string>();
  const taskRules = executors
    .filter((e) => !seen.has(`${e.group}/${e.resource}`) && seen.add(`${e.group}/${e.resource}`))
    .map((e) => e.toRule());
  return [
    // The informers: list then watch; get costs nothing more than list.
    { apiGroups: ['taskplane.dev'], resources: ['jobruns', 'jobconfigs'], verbs: ['get', 'list', 'watch'] },
    // Run and config status, written by server-side apply (a PATCH) through the status subresource; never the spec.
    { apiGroups: ['taskplane.dev'], resources: ['jobruns/status', 'jobconfigs/status'], verbs: ['patch'] },
    // Scheduled runs: created when due (owned by their JobConfig, without blockOwnerDeletion, so no
    // jobconfigs/finalizers), deleted past the history limits (only runs it created; watcher/scheduler.ts).
    { apiGroups: ['taskplane.dev'], resources: ['jobruns'], verbs: ['create', 'delete'] },
    // Created tasks carry an ownerReference to the run with blockOwnerDeletion, which the
    // OwnerReferencesPermissionEnforcement admission plugin (where enabled) allows only with this.
    // Custom resources have no finalizers subresource: this grants no other request.
    { apiGroups: ['taskplane.dev'], resources: ['jobruns/finalizers'], verbs: ['update'] },
    // Events on JobRuns and JobConfigs (core v1, one new Event per transition; never patched or read back).
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ...taskRules,
  ];
}

/** The leader-election rules, in the watcher's own namespace only. */
export function leaseRules(leaseName: string): WatcherPolicyRule[] {
  return [
    // A create names no object at authorization time, so it cannot be limited to one name.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [leaseName], verbs: ['get', 'update'] },
  ];
}

export interface WatcherInstallProps {
  /**
   * The watcher image: the taskplane package with its production dependencies, entrypoint
   * `node bin/taskplane.mjs` (see docs/install.md for a Dockerfile). Pin a version tag or a digest.
   *
   * No default: taskplane publishes no image, and a guessed one would fail to pull.
   */
  readonly image: string;
  /**
   * @default ImagePullPolicy.IF_NOT_PRESENT - a pinned tag or digest never changes, so pulling on
   * every start (cdk8s-plus's Always) only adds a registry dependency to every restart and failover
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /**
   * A docker-registry Secret in the watcher's namespace to pull the image with.
   * @default - none (a public image, or node credentials)
   */
  readonly imagePullSecret?: string;
  /**
   * The watcher's namespace: its Deployment, ServiceAccount and leader-election Lease.
   * @default 'taskplane-system'
   */
  readonly namespace?: string;
  /**
   * Emit the Namespace object (labelled Pod Security `restricted`, which the watcher Pod meets).
   * @default true - set false when the namespace is created elsewhere (e.g. Argo CD `CreateNamespace=true`)
   */
  readonly createNamespace?: boolean;
  /**
   * Name of the Deployment, ServiceAccount, Roles, bindings, PodDisruptionBudget and Lease. The
   * ClusterRole and ClusterRoleBinding are cluster-wide: two installs in one cluster need two names.
   * @default 'taskplane-watcher'
   */
  readonly name?: string;
  /**
   * The task executors the JobConfigs use; each adds the rules for its kind of task object.
   * @default - pods and jobs: `[WatcherExecutor.pods(), WatcherExecutor.jobs()]`
   */
  readonly executors?: WatcherExecutor[];
  /**
   * Watch one namespace only (`--namespace`): the rules become a Role and RoleBinding in that namespace
   * instead of a ClusterRole and ClusterRoleBinding.
   * @default - every namespace, with a ClusterRole
   */
  readonly watchNamespace?: string;
  /**
   * Only the leader acts; the other replica keeps its caches warm and takes over when the leader's
   * Lease expires (15 s) or at once when the leader stops cleanly.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Container resources; replaces the default as a whole (as in cdk8s-plus). With a memory limit, the
   * V8 heap limit (`--max-old-space-size`) is the memory limit less 256 MiB (at most half of it) for
   * what is not heap: code, the tsx loader thread, its esbuild process, buffers.
   * @default - requests cpu 100m and memory 256Mi, limit memory 1Gi, no CPU limit. Measured on 2 cores:
   * about 215 MiB resident when idle (esbuild included), 345 MiB at the peak of 1,000 retries over
   * 2,000 cached Pods; CPU is bursts (a re-list, many tasks finishing at once) that a CPU limit would
   * only throttle. The memory limit bounds a leak on a shared node.
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * A PodDisruptionBudget with `minAvailable: 1`, so a node drain never evicts both replicas at once.
   * @default - true when replicas > 1 (with one replica it would block every drain)
   */
  readonly podDisruptionBudget?: boolean;
  /**
   * Also emit the taskplane.dev CRDs (`TaskplaneCrds`).
   * @default true - set false when another chart of the app already emits them
   */
  readonly crds?: boolean;
  /**
   * The uid and gid the watcher runs as.
   * @default 1000 - the `node` user of the official Node.js images; numeric, so `runAsNonRoot` can be verified
   */
  readonly user?: number;
  /**
   * Port of `/metrics`, `/healthz` and `/readyz` (`--metrics-address 0.0.0.0:<port>`).
   * @default 8080
   */
  readonly metricsPort?: number;
  /**
   * Concurrent reconciles of different runs (`--workers`).
   * @default 2 - the watcher's own default
   */
  readonly workers?: number;
  /**
   * `--log-level` (pino levels: trace, debug, info, warn, error).
   * @default 'info'
   */
  readonly logLevel?: string;
}

const DEFAULT_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
};

/**
 * Everything the taskplane watcher needs in a cluster: its Namespace, ServiceAccount, least-privilege
 * RBAC derived from the executors in use, a hardened Deployment with leader election, a
 * PodDisruptionBudget, and the CRDs.
 *
 * cdk8s-plus-28's defaults are audited, not taken: imagePullPolicy IfNotPresent (not Always), small
 * resources sized for the watcher (not 1 CPU / 512Mi–2Gi), the ServiceAccount token mounted (the
 * watcher talks to the API server), capabilities dropped, seccomp RuntimeDefault, a writable /tmp
 * under the read-only root filesystem. Cluster-scoped objects never carry a namespace, whatever the
 * chart's namespace.
 */
export class WatcherInstall extends Construct {
  /** The watcher's namespace. */
  public readonly namespace: string;
  /** The name shared by the watcher's objects and its Lease. */
  public readonly name: string;
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly deployment: kplus.Deployment;
  /** The rules on watched namespaces (also in `watchedRole`). */
  public readonly rules: readonly WatcherPolicyRule[];
  /** The ClusterRole, or the Role in `watchNamespace`. */
  public readonly watchedRole: ApiObject;
  /** The leader-election Role in the watcher's namespace. */
  public readonly leaseRole: ApiObject;
  public readonly podDisruptionBudget?: ApiObject;
  public readonly crds?: TaskplaneCrds;

  public constructor(scope: Construct, id: string, props: WatcherInstallProps) {
    super(scope, id);
    this.namespace = props.namespace ?? 'taskplane-system';
    this.name = props.name ?? 'taskplane-watcher';
    const replicas = props.replicas ?? 2;
    const port = props.metricsPort ?? 8080;
    const user = props.user ?? 1000;
    const pullPolicy = props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT;
    const labels = {
      'app.kubernetes.io/name': this.name,
      'app.kubernetes.io/component': 'watcher',
      'app.kubernetes.io/part-of': 'taskplane',
    };
    const selector = { 'app.kubernetes.io/name': this.name };
    const namespaced = { name: this.name, namespace: this.namespace, labels };

    addFieldValidation(this, () => validate(props, replicas, pullPolicy));

    if (props.createNamespace ?? true) {
      new ClusterScopedApiObject(this, 'Namespace', {
        ...k8s.KubeNamespace.GVK,
        metadata: {
          name: this.namespace,
          labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
        },
      });
    }
    if (props.crds ?? true) this.crds = new TaskplaneCrds(this, 'Crds');

    // cdk8s-plus also sets automountServiceAccountToken: false here; the Pod spec below turns it on for
    // the watcher only, so no other Pod that borrows this ServiceAccount gets its token by default.
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: namespaced });
    const subjects = [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }];

    this.rules = watcherRules(props.executors ?? [WatcherExecutor.pods(), WatcherExecutor.jobs()]);
    if (props.watchNamespace === undefined) {
      this.watchedRole = new ClusterScopedApiObject(this, 'ClusterRole', {
        ...k8s.KubeClusterRole.GVK,
        metadata: { name: this.name, labels },
        rules: this.rules,
      });
      new ClusterScopedApiObject(this, 'ClusterRoleBinding', {
        ...k8s.KubeClusterRoleBinding.GVK,
        metadata: { name: this.name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.name },
        subjects,
      });
    } else {
      const inWatched = { ...namespaced, namespace: props.watchNamespace };
      this.watchedRole = new k8s.KubeRole(this, 'WatchedRole', { metadata: inWatched, rules: [...this.rules] });
      new k8s.KubeRoleBinding(this, 'WatchedRoleBinding', {
        metadata: inWatched,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
        subjects,
      });
    }
    // The Lease Role has its own name: with watchNamespace equal to the watcher's namespace both Roles live side by side.
    const leaseName = `${this.name}-leader-election`;
    this.leaseRole = new k8s.KubeRole(this, 'LeaseRole', { metadata: { ...namespaced, name: leaseName }, rules: leaseRules(this.name) });
    new k8s.KubeRoleBinding(this, 'LeaseRoleBinding', {
      metadata: { ...namespaced, name: leaseName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaseName },
      subjects,
    });

    const resources = props.resources ?? DEFAULT_RESOURCES;
    const limitMiB = resources.memory?.limit?.toMebibytes();
    const heapMiB = limitMiB === undefined ? undefined : Math.floor(Math.max(limitMiB / 2, limitMiB - 256));
    const args = [
      'watch',
      `--metrics-address=0.0.0.0:${port}`,
      // Leader election even with one replica: a rolling update runs two Pods for a while.
      '--leader-elect=true',
      `--lease-namespace=${this.namespace}`,
      `--lease-name=${this.name}`,
      ...(props.watchNamespace !== undefined ? [`--namespace=${props.watchNamespace}`] : []),
      ...(props.workers !== undefined ? [`--workers=${props.workers}`] : []),
      ...(props.logLevel !== undefined ? [`--log-level=${props.logLevel}`] : []),
    ];
    const tmp = kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp', { sizeLimit: Size.mebibytes(64) });

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: namespaced,
      replicas,
      // Select on stable labels, not cdk8s-plus's construct-path label: a selector is immutable, and
      // moving the construct would otherwise make the next apply fail.
      select: false,
      podMetadata: { labels },
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: true,
      ...(props.imagePullSecret !== undefined && {
        dockerRegistryAuth: kplus.Secret.fromSecretName(this, 'ImagePullSecret', props.imagePullSecret),
      }),
      securityContext: { ensureNonRoot: true, user, group: user },
      terminationGracePeriod: Duration.seconds(30),
      containers: [
        {
          name: 'watcher',
          image: props.image,
          imagePullPolicy: pullPolicy,
          args,
          ports: [{ number: port, name: 'metrics' }],
          envVariables: {
            // The Lease's namespace when --lease-namespace is not given, and where the Pod runs.
            POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            ...(heapMiB !== undefined && { NODE_OPTIONS: kplus.EnvValue.fromValue(`--max-old-space-size=${heapMiB}`) }),
          },
          resources,
          securityContext: {
            ensureNonRoot: true,
            user,
            group: user,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
          // tsx (which runs the TypeScript CLI) writes its transform cache under os.tmpdir() and
          // crashes when it cannot; the root filesystem stays read-only.
          volumeMounts: [{ path: '/tmp', volume: tmp }],
          // Starting includes transpiling the CLI on a cold cache (about 2 s on 2 cores).
          startup: kplus.Probe.fromHttpGet('/healthz', { port, periodSeconds: Duration.seconds(2), failureThreshold: 30 }),
          liveness: kplus.Probe.fromHttpGet('/healthz', { port, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
          // Ready once the JobRun and JobConfig caches hold a full list (false while the CRDs are missing).
          readiness: kplus.Probe.fromHttpGet('/readyz', { port, periodSeconds: Duration.seconds(5), failureThreshold: 3 }),
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: selector }));
    const deployment = ApiObject.of(this.deployment);
    // The construct-path label cdk8s-plus adds to every pod template: nothing selects on it here, and
    // it would restart the watcher whenever the construct moves.
    deployment.addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));
    // Spread the replicas over nodes when the cluster can; never block scheduling for it.
    deployment.addJsonPatch(
      JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
      ]),
    );

    if (props.podDisruptionBudget ?? replicas > 1) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: namespaced,
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
      });
    }
  }
}

function validate(props: WatcherInstallProps, replicas: number, pullPolicy: kplus.ImagePullPolicy): FieldError[] {
  const errors: FieldError[] = [];
  const image = props.image;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const tag = image.includes('@') ? undefined : lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
  if (!image.trim()) {
    errors.push({ field: 'image', message: 'is empty', valid: 'an image reference such as registry.example.com/platform/taskplane:0.1.0 (see docs/install.md)' });
  } else if (pullPolicy === kplus.ImagePullPolicy.IF_NOT_PRESENT && (tag === '' || tag === 'latest')) {
    errors.push({
      field: 'image',
      message: 'has no version: with imagePullPolicy IfNotPresent each node would keep running whatever it pulled first',
      value: image,
      valid: 'a version tag or a digest (…:0.1.0, …@sha256:…), or imagePullPolicy ImagePullPolicy.ALWAYS',
    });
  }
  if (!Number.isInteger(replicas) || replicas < 1) errors.push({ field: 'replicas', message: 'must be a whole number of at least 1', value: replicas });
  if (props.podDisruptionBudget === true && replicas < 2) {
    errors.push({
      field: 'podDisruptionBudget',
      message: 'with one replica, minAvailable 1 would block every node drain',
      value: true,
      valid: 'replicas of 2 or more, or podDisruptionBudget false',
    });
  }
  return errors;
}

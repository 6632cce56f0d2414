import type { ApiObject } from 'cdk8s';
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { FieldError } from '../engine/errors.js';
import { releasedWatcherImage } from '../engine/release.js';
import { formatTaskResource } from '../engine/task-kinds.js';
import { ClusterScopedApiObject } from './_cluster-scoped-object.js';
import { addFieldValidation } from './_validation.js';
import { TaskplaneCrds } from './taskplane-crds.js';
import { TaskplanePersonas } from './taskplane-personas.js';
import { WatcherDeployment } from './watcher-deployment.js';
import { distinctExecutors, HTTP_CA_DIRECTORY, WatcherExecutor } from './watcher-executor.js';
import { JobConfig } from './job-config.js';
import { WatcherRbac, type WatcherPolicyRule } from './watcher-rbac.js';

const k8s = kplus.k8s;

export interface WatcherInstallProps {
  /**
   * The watcher image: `npm run image` builds it (docs/install.md, "The image"). Pin a version tag or a digest.
   * @default - the image this release of taskplane publishes, `ghcr.io/taskplane/watcher:<package version>`:
   * the watcher's version matches the constructs that rendered its install
   */
  readonly image?: string;
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
   * The task executors the JobConfigs use; each adds the rules for its kind of task object and is the
   * watcher's allowlist (`--task-resources`): it refuses runs whose tasks are of any other kind.
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
   * Only the leader acts (with `shards`: each replica acts on the shards it holds); the other
   * replica keeps its caches warm and takes over when the leader's Lease expires (15 s) or at once
   * when the leader stops cleanly.
   * @default 2 - a standby that takes over within the lease duration
   */
  readonly replicas?: number;
  /**
   * Split the runs into this many shards by their JobConfig (`--shards`), each held through its own
   * Lease (`<name>-shard-<i>`); the replicas share the shards out among themselves and each reconciles
   * only its shards' runs. It splits reconcile CPU and API writes, not memory: every replica still
   * caches every object. `replicas` of at least `shards` lets each replica hold one; a replica more
   * is a standby. See docs/watcher.md, "Sharding".
   * @default 1 - one leader reconciles everything, which one replica sustains up to the figures in
   * docs/watcher.md ("Sizing"); shard when a leader's CPU is the limit
   */
  readonly shards?: number;
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
   * Also emit the persona ClusterRoles (`TaskplanePersonas`: taskplane-viewer, -runner, -editor).
   * @default true - set false in a second install in the same cluster (ClusterRoles are cluster-wide)
   */
  readonly personas?: boolean;
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
 * RBAC derived from the executors in use (`WatcherRbac`), the persona ClusterRoles for people
 * (`TaskplanePersonas`), a hardened Deployment with leader election and a PodDisruptionBudget
 * (`WatcherDeployment`), and the CRDs. The executors are also the watcher's allowlist of task kinds
 * (`--task-resources`), so its RBAC and its own refusals agree.
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
  public readonly personas?: TaskplanePersonas;
  public readonly crds?: TaskplaneCrds;

  public constructor(scope: Construct, id: string, props: WatcherInstallProps = {}) {
    super(scope, id);
    this.namespace = props.namespace ?? 'taskplane-system';
    this.name = props.name ?? 'taskplane-watcher';
    const replicas = props.replicas ?? 2;
    const labels = {
      'app.kubernetes.io/name': this.name,
      'app.kubernetes.io/component': 'watcher',
      'app.kubernetes.io/part-of': 'taskplane',
    };
    const executors = distinctExecutors(props.executors ?? [WatcherExecutor.pods(), WatcherExecutor.jobs()]);
    const pullPolicy = props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT;
    const image = props.image ?? releasedWatcherImage();
    addFieldValidation(this, () => validate(props, image, replicas, pullPolicy));
    const http = executors.find((e) => e.httpProps)?.httpProps;
    addFieldValidation(this, () => httpSecretErrors(this, http?.secretNames));

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

    // cdk8s-plus also sets automountServiceAccountToken: false here; the Pod spec turns it on for
    // the watcher only, so no other Pod that borrows this ServiceAccount gets its token by default.
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: { name: this.name, namespace: this.namespace, labels } });

    const rbac = new WatcherRbac(this, 'Rbac', {
      serviceAccount: { name: this.name, namespace: this.namespace },
      name: this.name,
      leaseName: this.name,
      ...(props.shards !== undefined && { shards: props.shards }),
      executors,
      watchNamespace: props.watchNamespace,
      labels,
    });
    this.rules = rbac.rules;
    this.watchedRole = rbac.watchedRole;
    this.leaseRole = rbac.leaseRole;

    const running = new WatcherDeployment(this, 'Watcher', {
      name: this.name,
      namespace: this.namespace,
      labels,
      serviceAccount: this.serviceAccount,
      image,
      imagePullPolicy: pullPolicy,
      imagePullSecret: props.imagePullSecret,
      replicas,
      resources: props.resources ?? DEFAULT_RESOURCES,
      podDisruptionBudget: props.podDisruptionBudget ?? replicas > 1,
      user: props.user ?? 1000,
      metricsPort: props.metricsPort ?? 8080,
      ...(http?.caConfigMap && { caConfigMap: { name: http.caConfigMap.name, directory: HTTP_CA_DIRECTORY } }),
      watchArgs: [
        // Leader election even with one replica: a rolling update runs two Pods for a while.
        '--leader-elect=true',
        `--lease-namespace=${this.namespace}`,
        `--lease-name=${this.name}`,
        ...(props.shards !== undefined ? [`--shards=${props.shards}`] : []),
        // The same kinds as the RBAC above: the watcher refuses the others whatever its credentials allow.
        `--task-resources=${executors.map((e) => formatTaskResource(e.taskResource)).join(',')}`,
        ...(props.watchNamespace !== undefined ? [`--namespace=${props.watchNamespace}`] : []),
        ...(props.workers !== undefined ? [`--workers=${props.workers}`] : []),
        ...(props.logLevel !== undefined ? [`--log-level=${props.logLevel}`] : []),
        ...executors.flatMap((e) => e._watchArgs()),
      ],
    });
    this.deployment = running.deployment;
    this.podDisruptionBudget = running.podDisruptionBudget;

    if (props.personas ?? true) this.personas = new TaskplanePersonas(this, 'Personas', { labels: { 'app.kubernetes.io/part-of': 'taskplane' } });
  }
}

/**
 * Every Secret an HTTP task header of the app's JobConfigs reads must be one the watcher may read
 * (`WatcherExecutor.http({ secretNames })`), or the task would fail at request time with SecretForbidden.
 */
function httpSecretErrors(scope: Construct, allowed: readonly string[] | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const config of scope.node.root.node.findAll().filter(JobConfig.isJobConfig)) {
    const http = config._spec.template.taskTemplate.http;
    if (!http) continue;
    (http.request.headers ?? []).forEach((header, i) => {
      const secret = header.valueFrom?.secretKeyRef.name;
      if (secret === undefined) return;
      const field = `executors (JobConfig ${config.node.path}: spec.template.taskTemplate.http.request.headers[${i}])`;
      if (allowed === undefined) errors.push({ field, message: 'HTTP tasks need WatcherExecutor.http() among the executors', valid: `WatcherExecutor.http({ secretNames: ['${secret}'] })` });
      else if (!allowed.includes(secret)) errors.push({ field, message: `reads Secret ${secret}, which the watcher may not read`, value: secret, valid: `add '${secret}' to WatcherExecutor.http({ secretNames })` });
    });
  }
  return errors;
}

function validate(props: WatcherInstallProps, image: string, replicas: number, pullPolicy: kplus.ImagePullPolicy): FieldError[] {
  const errors: FieldError[] = [];
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
  if (props.shards !== undefined && (!Number.isInteger(props.shards) || props.shards < 1)) {
    errors.push({ field: 'shards', message: 'must be a whole number of at least 1', value: props.shards, valid: 'e.g. 2, with replicas of at least 2' });
  }
  if (props.podDisruptionBudget === true && replicas < 2) {
    errors.push({
      field: 'podDisruptionBudget',
      message: 'with one replica, minAvailable 1 would block every node drain',
      value: true,
      valid: 'replicas of 2 or more, or podDisruptionBudget false',
    });
  }
  props.executors?.forEach((executor, i) => {
    const problem = executor._problem();
    if (problem) errors.push({ field: `executors[${i}]`, message: problem, value: formatTaskResource(executor.taskResource), valid: 'a namespaced kind that runs work, e.g. taskruns.tekton.dev' });
  });
  return errors;
}

import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';

const k8s = kplus.k8s;

export interface WatcherDeploymentProps {
  /** Name of the Deployment and PodDisruptionBudget. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: kplus.IServiceAccount;
  /** The watcher image (see `WatcherInstallProps.image`). */
  readonly image: string;
  readonly imagePullPolicy: kplus.ImagePullPolicy;
  /** @default - none */
  readonly imagePullSecret?: string;
  readonly replicas: number;
  readonly resources: kplus.ContainerResources;
  readonly podDisruptionBudget: boolean;
  readonly user: number;
  readonly metricsPort: number;
  /**
   * A ConfigMap of CA certificates for HTTP tasks, mounted read-only at `directory`.
   * @default - none
   */
  readonly caConfigMap?: { readonly name: string; readonly directory: string };
  /** `taskplane watch` flags after `--metrics-address`. */
  readonly watchArgs: readonly string[];
}

/**
 * The watcher's hardened Deployment (and its PodDisruptionBudget): cdk8s-plus-28's defaults audited,
 * not taken (see `WatcherInstall`, which also validates these props as the user gave them).
 */
export class WatcherDeployment extends Construct {
  public readonly deployment: kplus.Deployment;
  public readonly podDisruptionBudget?: ApiObject;

  public constructor(scope: Construct, id: string, props: WatcherDeploymentProps) {
    super(scope, id);
    const { labels, metricsPort: port, user, resources } = props;
    const selector = { 'app.kubernetes.io/name': props.name };
    const namespaced = { name: props.name, namespace: props.namespace, labels };

    const limitMiB = resources.memory?.limit?.toMebibytes();
    const heapMiB = limitMiB === undefined ? undefined : Math.floor(Math.max(limitMiB / 2, limitMiB - 256));
    const tmp = kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp', { sizeLimit: Size.mebibytes(64) });

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: namespaced,
      replicas: props.replicas,
      // Select on stable labels, not cdk8s-plus's construct-path label: a selector is immutable, and
      // moving the construct would otherwise make the next apply fail.
      select: false,
      podMetadata: { labels },
      serviceAccount: props.serviceAccount,
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
          imagePullPolicy: props.imagePullPolicy,
          args: ['watch', `--metrics-address=0.0.0.0:${port}`, ...props.watchArgs],
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
          volumeMounts: [
            { path: '/tmp', volume: tmp },
            ...(props.caConfigMap
              ? [{ path: props.caConfigMap.directory, readOnly: true, volume: kplus.Volume.fromConfigMap(this, 'HttpCa', kplus.ConfigMap.fromConfigMapName(this, 'HttpCaConfigMap', props.caConfigMap.name), { name: 'http-ca' }) }]
              : []),
          ],
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

    if (props.podDisruptionBudget) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: namespaced,
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
      });
    }
  }
}

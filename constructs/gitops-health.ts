import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { argoCdHealthChecks, fluxHealthCheckExprs } from '../engine/health/index.js';
import { GROUP_VERSION } from '../engine/schema/resources.js';
import { JobConfig } from './job-config.js';
import { JobRun } from './job-run.js';

export { argoCdHealthChecks, argoCdHealthKey, fluxHealthCheckExprs, JOB_CONFIG_HEALTH_LUA, JOB_RUN_HEALTH_CHECK_EXPR, JOB_RUN_HEALTH_LUA } from '../engine/health/index.js';
export type { FluxHealthCheckExpr } from '../engine/health/index.js';

export interface ArgoCdHealthChecksOptions {
  /**
   * The namespace of Argo CD's `argocd-cm`.
   * @default 'argocd' - where Argo CD's install manifests and Helm chart put it
   */
  readonly namespace?: string;
}

/** A Flux source, as `spec.sourceRef` of a Kustomization names it. */
export interface FluxSourceReference {
  readonly kind: 'GitRepository' | 'OCIRepository' | 'Bucket' | 'ExternalArtifact';
  readonly name: string;
  /**
   * @default - the Kustomization's namespace
   */
  readonly namespace?: string;
}

/** A Kustomization this one waits for, e.g. the one installing the CRDs and the watcher. */
export interface FluxDependency {
  readonly name: string;
  /**
   * @default - the Kustomization's namespace
   */
  readonly namespace?: string;
}

export interface FluxHealthChecksOptions {
  /**
   * The directory in the source holding the synthesized JobConfigs and runs, e.g. `./dist/jobs`:
   * the output of the charts below, and nothing else (not the CRDs, not this construct's own file).
   */
  readonly path: string;
  /**
   * @default 'taskplane-jobs'
   */
  readonly name?: string;
  /**
   * @default 'flux-system' - where `flux bootstrap` keeps its Kustomizations
   */
  readonly namespace?: string;
  /**
   * @default - the GitRepository `flux-system` that `flux bootstrap` creates
   */
  readonly sourceRef?: FluxSourceReference;
  /**
   * How often Flux applies the directory again, and so how often it looks at the runs' health.
   * @default '10m'
   */
  readonly interval?: string;
  /**
   * How long one reconciliation waits for the runs to finish before it reports `Ready=False`
   * (HealthCheckFailed); the next reconciliation looks again.
   * @default - Flux's default: `interval` less 30 s
   */
  readonly timeout?: string;
  /**
   * Kustomizations that must be Ready first, typically the one installing the taskplane CRDs and
   * the watcher.
   * @default - none
   */
  readonly dependsOn?: readonly FluxDependency[];
  /**
   * The charts whose JobConfigs and runs the directory holds; each one is listed in `healthChecks`.
   * @default - every chart of the app
   */
  readonly charts?: readonly Chart[];
}

export interface GitOpsHealthChecksProps {
  /**
   * Emit an `argocd-cm` ConfigMap holding only the two health-check keys, meant to be merged into
   * the live one with server-side apply (`kubectl apply --server-side`), which leaves every other
   * key alone. Pass `{}` for the defaults.
   * @default - not emitted
   */
  readonly argoCd?: ArgoCdHealthChecksOptions;
  /**
   * Emit a Flux Kustomization that applies the jobs directory and judges health on the JobRuns
   * (`healthChecks` naming each JobConfig and JobRun of the app, `healthCheckExprs` for JobRuns,
   * `wait: false` so the rendered task objects are not judged).
   * @default - not emitted
   */
  readonly flux?: FluxHealthChecksOptions;
}

const FLUX_KUSTOMIZATION_API = 'kustomize.toolkit.fluxcd.io/v1';

/**
 * How Argo CD and Flux should read the health of taskplane's resources (docs/gitops.md):
 *
 * - Argo CD: the Lua health checks for JobRun and JobConfig as an `argocd-cm` patch. Without them a
 *   JobRun has no health at all in Argo CD (custom resources have no default), and sync waves and
 *   hooks do not wait for runs.
 * - Flux: a Kustomization whose health is the JobRuns' and not their first attempts' (Flux's Job
 *   reader marks a failed first attempt Failed even after its retry succeeded).
 *
 * Put it in a chart of its own: its objects go to another namespace and are applied by whoever
 * manages Argo CD or Flux, not by the application that applies the jobs.
 */
export class GitOpsHealthChecks extends Construct {
  /** The argocd-cm patch, when `argoCd` is set. */
  public readonly argoCdConfigMap?: ApiObject;
  /** The Flux Kustomization, when `flux` is set. */
  public readonly fluxKustomization?: ApiObject;

  public constructor(scope: Construct, id: string, props: GitOpsHealthChecksProps) {
    super(scope, id);
    if (props.argoCd) this.argoCdConfigMap = this.argoCdPatch(props.argoCd);
    if (props.flux) this.fluxKustomization = new FluxKustomization(this, 'FluxKustomization', props.flux, () => this.healthChecks(props.flux!));
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!props.argoCd && !props.flux) errors.push('argoCd and flux are both unset, so nothing is emitted: set argoCd: {} (Argo CD), flux: { path } (Flux), or both');
        if (props.flux) errors.push(...this.healthChecks(props.flux).errors);
        return errors;
      },
    });
  }

  private argoCdPatch(options: ArgoCdHealthChecksOptions): ApiObject {
    return new ApiObject(this, 'ArgoCdConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'argocd-cm',
        namespace: options.namespace ?? 'argocd',
        // Argo CD only reads ConfigMaps with this label; it is on argocd-cm already, and merges as the same value.
        labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
        // Should Argo CD itself apply this file, it must merge (server-side apply), not replace argocd-cm.
        annotations: { 'argocd.argoproj.io/sync-options': 'ServerSideApply=true' },
      },
      data: argoCdHealthChecks(),
    });
  }

  /** Every JobConfig and JobRun of the charts, sorted, at synth time (runs are added after this construct). */
  private healthChecks(options: FluxHealthChecksOptions): { refs: Record<string, string>[]; errors: string[] } {
    const refs: Record<string, string>[] = [];
    const errors: string[] = [];
    for (const node of this.node.root.node.findAll()) {
      const found =
        JobConfig.isJobConfig(node) ? { kind: 'JobConfig', name: node.name, namespace: node.namespace }
        : JobRun.isJobRun(node) ? { kind: 'JobRun', name: node.name, namespace: node.object.metadata.namespace }
        : undefined;
      if (!found || (options.charts && !options.charts.includes(Chart.of(node)))) continue;
      if (!found.namespace) {
        errors.push(`${found.kind} ${found.name} has no namespace, and Flux healthChecks must name one: give its chart or JobConfig a namespace`);
        continue;
      }
      refs.push({ apiVersion: GROUP_VERSION, kind: found.kind, name: found.name, namespace: found.namespace });
    }
    const key = (r: Record<string, string>) => `${r.kind === 'JobConfig' ? 0 : 1} ${r.namespace} ${r.name}`;
    return { refs: refs.sort((a, b) => key(a).localeCompare(key(b))), errors };
  }
}

/** The Kustomization, with `healthChecks` computed when it is synthesized. */
class FluxKustomization extends ApiObject {
  public constructor(scope: Construct, id: string, private readonly options: FluxHealthChecksOptions, private readonly checks: () => { refs: Record<string, string>[] }) {
    super(scope, id, {
      apiVersion: FLUX_KUSTOMIZATION_API,
      kind: 'Kustomization',
      metadata: { name: options.name ?? 'taskplane-jobs', namespace: options.namespace ?? 'flux-system' },
    });
  }

  public override toJson(): any {
    const json = super.toJson();
    const { options } = this;
    json.spec = {
      interval: options.interval ?? '10m',
      ...(options.timeout ? { timeout: options.timeout } : {}),
      sourceRef: options.sourceRef ? { ...options.sourceRef } : { kind: 'GitRepository', name: 'flux-system' },
      path: options.path,
      prune: true,
      ...(options.dependsOn?.length ? { dependsOn: options.dependsOn.map((d) => ({ ...d })) } : {}),
      // Judge the JobRuns only: with wait: true Flux would judge every applied object, and its Job
      // reader calls a failed first attempt Failed even once its retry succeeded.
      wait: false,
      healthChecks: this.checks().refs,
      healthCheckExprs: fluxHealthCheckExprs(),
    };
    return json;
  }
}

import { k8s } from 'cdk8s-plus-28';
import { parseAllDocuments } from 'yaml';
import type { FieldError } from '../engine/errors.js';
import type { TaskTemplate as TaskTemplateSpec } from '../engine/schema/template.js';
import { httpTemplate, type HttpTaskProps } from './http-request.js';

/** Labels and annotations for every task object; values may use `${...}` variables. */
export interface TaskMetadata {
  /** @default - only taskplane's own labels */
  readonly labels?: Readonly<Record<string, string>>;
  /** @default - only taskplane's own annotations */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PodTaskProps {
  /**
   * The Pod spec, typed from Kubernetes 1.28 (cdk8s-plus-28's `k8s` types). Every string may use
   * `${...}` variables. `restartPolicy` defaults to `Never`; `Always` is rejected.
   */
  readonly spec: k8s.PodSpec;
  /** @default - no extra labels or annotations */
  readonly metadata?: TaskMetadata;
}

export interface JobTaskProps {
  /**
   * The batch/v1 Job spec. `backoffLimit` defaults to 0 (retries belong to taskplane, one attempt
   * = one Job) and the pod template's `restartPolicy` to `Never`.
   */
  readonly spec: k8s.JobSpec;
  /** @default - no extra labels or annotations */
  readonly metadata?: TaskMetadata;
}

/** An Argo Workflow spec: the fields taskplane reads are typed, the rest pass through as given. */
export interface WorkflowSpec {
  /** The template to start with (or use `workflowTemplateRef`). */
  readonly entrypoint?: string;
  readonly arguments?: { readonly parameters?: readonly { readonly name: string; readonly value?: string }[] };
  readonly templates?: readonly Readonly<Record<string, unknown>>[];
  readonly workflowTemplateRef?: { readonly name: string; readonly clusterScope?: boolean };
  readonly [field: string]: unknown;
}

export interface WorkflowTaskProps {
  /** The Workflow spec; substitution reaches arguments and templates alike. */
  readonly spec: WorkflowSpec;
  /** @default - no extra labels or annotations */
  readonly metadata?: TaskMetadata;
}

/** The object a custom-resource task creates, from an object or YAML text (validated at synth). */
export class CustomResourceManifest {
  public static fromObject(manifest: Readonly<Record<string, unknown>>): CustomResourceManifest {
    return new CustomResourceManifest(structuredClone(manifest) as Record<string, unknown>, []);
  }

  /** One YAML document; a parse error is reported at synth with the construct's path. */
  public static fromYaml(text: string): CustomResourceManifest {
    const documents = parseAllDocuments(text);
    const problems = Array.isArray(documents) ? documents.flatMap((d) => d.errors.map((e) => e.message)) : ['not a YAML document'];
    if (Array.isArray(documents) && documents.length !== 1) problems.push(`expected one YAML document, got ${documents.length}`);
    const value = problems.length === 0 && Array.isArray(documents) ? documents[0]!.toJS() : undefined;
    if (problems.length === 0 && (value === null || typeof value !== 'object' || Array.isArray(value))) problems.push('the document must be a mapping');
    return new CustomResourceManifest(problems.length ? {} : (value as Record<string, unknown>), problems);
  }

  private constructor(
    /** @internal */ public readonly _manifest: Record<string, unknown>,
    /** @internal */ public readonly _problems: readonly string[],
  ) {}
}

export interface CustomResourceTaskProps {
  /** The object to create for each task; taskplane sets its name and namespace. */
  readonly manifest: CustomResourceManifest;
  /** CEL over the live object `self`: true when the task succeeded, e.g. `self.status.phase == 'Succeeded'`. */
  readonly successCondition: string;
  /** CEL over `self`: true when the task failed. */
  readonly failureCondition: string;
  /**
   * CEL over `self`: true once the task runs.
   * @default - the task counts as running from creation until it succeeds or fails
   */
  readonly runningCondition?: string;
  /**
   * CEL over `self`: the task's result payload.
   * @default - no payload
   */
  readonly resultExpression?: string;
  /**
   * A JSON merge patch that stops the task in place (e.g. `{spec: {status: 'Cancelled'}}`).
   * @default - a Git-managed task cannot be killed in place; watcher-created ones are deleted
   */
  readonly killPatch?: Readonly<Record<string, unknown>>;
}

/** What one task of a run is: a Pod, a batch Job, an Argo Workflow, any custom resource or an HTTP request. */
export class TaskTemplate {
  public static pod(props: PodTaskProps): TaskTemplate {
    return new TaskTemplate({ pod: { ...metadataOf(props.metadata), spec: k8s.toJson_PodSpec(props.spec)! } });
  }

  public static job(props: JobTaskProps): TaskTemplate {
    return new TaskTemplate({ job: { ...metadataOf(props.metadata), spec: k8s.toJson_JobSpec(props.spec)! } });
  }

  public static workflow(props: WorkflowTaskProps): TaskTemplate {
    return new TaskTemplate({ workflow: { ...metadataOf(props.metadata), spec: structuredClone(props.spec) as Record<string, unknown> } });
  }

  public static customResource(props: CustomResourceTaskProps): TaskTemplate {
    const { manifest, killPatch, ...conditions } = props;
    const problems = manifest._problems.map((message) => ({ field: 'customResource.manifest', message: `YAML does not parse: ${message}` }));
    return new TaskTemplate(
      { customResource: { manifest: structuredClone(manifest._manifest), ...conditions, ...(killPatch && { killPatch: structuredClone(killPatch) as Record<string, unknown> }) } },
      problems,
    );
  }

  /** A template already in taskplane's spec form, e.g. read from another system's YAML. @internal */
  public static _fromSpec(spec: TaskTemplateSpec): TaskTemplate {
    return new TaskTemplate(structuredClone(spec));
  }

  /**
   * An HTTP request the watcher performs (an `HttpTask` object per task), judged by the response
   * rules; needs `WatcherExecutor.http()` in WatcherInstall. See docs/synth.md for the guarantees.
   */
  public static http(props: HttpTaskProps): TaskTemplate {
    return new TaskTemplate({ http: httpTemplate(props) });
  }

  private constructor(
    private readonly spec: TaskTemplateSpec,
    /** @internal */ public readonly _problems: readonly FieldError[] = [],
  ) {}

  /** @internal */
  public _toSpec(): TaskTemplateSpec {
    return structuredClone(this.spec);
  }
}

function metadataOf(metadata: TaskMetadata | undefined) {
  if (!metadata?.labels && !metadata?.annotations) return {};
  return {
    metadata: {
      ...(metadata.labels && { labels: { ...metadata.labels } }),
      ...(metadata.annotations && { annotations: { ...metadata.annotations } }),
    },
  };
}

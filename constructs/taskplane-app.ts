import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiObject, App, Chart, Names, type AppProps } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { TASKPLANE_APP } from './_validation.js';
import { stringifyDocuments } from './_yaml.js';
import { JobConfig } from './job-config.js';
import { JobRun } from './job-run.js';

export interface TaskplaneAppProps extends Omit<AppProps, 'yamlOutputType'> {
  /**
   * Emit a Namespace for every namespace the app's objects use that the app does not declare itself
   * (`default` and `kube-*` excepted), into `00-setup/00-namespaces.k8s.yaml`, which `kubectl apply -R` reads first.
   * @default true - dist/ applies to a cluster that lacks them; false when namespaces come from elsewhere
   */
  readonly namespaces?: boolean;
  /**
   * Write `Kustomization` (kustomize's extension-less name, which `kubectl apply -R -f` does not read)
   * listing every file, Namespaces and CRDs first, for Flux and `kustomize build`.
   * @default true
   */
  readonly kustomization?: boolean;
}

/**
 * What runs' tasks need before they are applied (Namespaces, ServiceAccounts, RBAC) goes under this
 * directory, which sorts before any chart's (chart names start with a letter): `kubectl apply -R` walks
 * it first, and a Flux Kustomization of its own can be applied before the jobs (`dependsOn`). Flux
 * dry-runs every object of an apply stage before applying any, and ServiceAccounts share the last stage
 * with Pods, whose admission refuses a ServiceAccount that does not exist yet.
 */
const SETUP_DIR = '00-setup';
/** The chart of emitted Namespaces; its file sorts first in SETUP_DIR. */
const NAMESPACES_CHART = '00-namespaces';
const BUILT_IN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/**
 * A cdk8s App with the output layout taskplane recommends for GitOps, written atomically:
 *
 *     dist/00-setup/00-namespaces.k8s.yaml               Namespaces the objects use and nothing declares
 *     dist/00-setup/<chart>/<config>.k8s.yaml            a JobConfig's ServiceAccounts, Roles, RoleBindings
 *     dist/<chart>.k8s.yaml                              objects outside any JobConfig (CRDs, watcher)
 *     dist/<chart>/<config>/jobconfig.k8s.yaml           the JobConfig (and its other objects)
 *     dist/<chart>/<config>/runs/<run>.k8s.yaml          a JobRun and its rendered tasks
 *
 * Adding a JobConfig or a run adds files and never rewrites others. The whole app is validated once
 * (plain cdk8s validates it again for every chart), every error is reported at once, two objects with
 * the same kind, namespace and name are an error, and on error nothing is written: the output
 * directory keeps its previous content. Strings that YAML 1.1 and 1.2 readers would read differently
 * (`0o17`, `yes`, `1:20`, a `<<` key) are written quoted.
 */
export class TaskplaneApp extends App {
  private readonly emitNamespaces: boolean;
  private readonly emitKustomization: boolean;
  /** Lets taskplane's constructs know their strings will be quoted. @internal */
  public readonly [TASKPLANE_APP] = true;

  public constructor(props: TaskplaneAppProps = {}) {
    super(props);
    this.emitNamespaces = props.namespaces ?? true;
    this.emitKustomization = props.kustomization ?? true;
  }

  public override synth(): void {
    if (this.emitNamespaces && !this.node.tryFindChild(NAMESPACES_CHART)) addMissingNamespaces(this);
    const nodes = this.node.findAll();
    const errors = nodes.flatMap((node) => node.node.validate().map((message) => `[${node.node.path}] ${message}`));
    if (errors.length > 0) throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);

    // One pre-order pass (each chart's own order) files every object. Only references are kept:
    // each file's documents are rendered, written and dropped in turn, so the memory peak is the
    // construct tree plus one file, not every document of the app at once.
    const files = new Map<string, ApiObject[]>();
    for (const node of nodes) {
      if (!ApiObject.isApiObject(node)) continue;
      const file = outputFile(Chart.of(node), node);
      const objects = files.get(file);
      if (objects) objects.push(node);
      else files.set(file, [node]);
    }
    const apiObjects = nodes.filter((node): node is ApiObject => ApiObject.isApiObject(node));
    throwOnClashes(apiObjects, declaredIdentity);
    const kustomization = this.emitKustomization ? kustomizationOf(files, this.outputFileExtension) : undefined;
    writeAtomically(this.outdir, files, this.outputFileExtension, kustomization, (written) => {
      // A JSON patch can rename an object: then check again with what was really written.
      if (written.size > 0) throwOnClashes(apiObjects, (object) => written.get(object) ?? declaredIdentity(object));
    });
  }
}

/** A Namespace object in a chart of its own for every namespace used by an object but declared by none. */
function addMissingNamespaces(app: App): void {
  const objects = app.node.findAll().filter((node): node is ApiObject => ApiObject.isApiObject(node));
  const declared = new Set(objects.filter((object) => object.kind === 'Namespace' && object.apiVersion === 'v1').map((object) => object.name));
  const used = new Set(objects.map((object) => object.metadata.namespace).filter((namespace): namespace is string => !!namespace));
  const missing = [...used].filter((namespace) => !declared.has(namespace) && !BUILT_IN_NAMESPACES.has(namespace)).sort();
  if (missing.length === 0) return;
  const chart = new Chart(app, NAMESPACES_CHART);
  // The label says where the Namespace comes from, and gives its applier a field to own (server-side
  // apply records no manager for an object with nothing but a name).
  const labels = { 'app.kubernetes.io/managed-by': 'taskplane' };
  for (const name of missing) new ApiObject(chart, name, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

/**
 * kustomize's file list: files holding Namespaces or CRDs first (kustomize keeps this order, and Flux
 * applies such definitions in a first stage anyway), then the setup, then the rest by path.
 */
function kustomizationOf(files: Map<string, ApiObject[]>, extension: string): string {
  const rank = (file: string, objects: ApiObject[]) =>
    objects.some((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition') ? 0 : file.startsWith(`${SETUP_DIR}/`) ? 1 : 2;
  const ordered = [...files].map(([file, objects]) => ({ path: `${file}${extension}`, rank: rank(file, objects) }));
  ordered.sort((a, b) => a.rank - b.rank || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return stringifyDocuments([{ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ordered.map((f) => f.path) }]);
}

/** `apiVersion/Kind namespace/name`. */
const identity = (json: { apiVersion?: string; kind?: string; metadata?: { namespace?: string; name?: string } }) =>
  `${json.apiVersion}/${json.kind} ${json.metadata?.namespace ?? ''}/${json.metadata?.name}`;

/** The identity an object declares, known without rendering it. */
const declaredIdentity = (object: ApiObject) =>
  identity({ apiVersion: object.apiVersion, kind: object.kind, metadata: { namespace: object.metadata.namespace, name: object.name } });

function throwOnClashes(objects: readonly ApiObject[], identityOf: (object: ApiObject) => string): void {
  const firstByIdentity = new Map<string, ApiObject>();
  const clashes: string[] = [];
  for (const object of objects) {
    // Task names are unique within a run; two runs (or two charts) can still produce the same object.
    const id = identityOf(object);
    const first = firstByIdentity.get(id);
    if (first) {
      const fix = ancestor(object, JobRun.isJobRun) && ancestor(first, JobRun.isJobRun) ? 'give one of the runs another name' : 'define it once (e.g. one TaskplaneCrds per app) or give one of them another name';
      clashes.push(`[${object.node.path}] ${id} is also produced by ${first.node.path}; ${fix}`);
    } else firstByIdentity.set(id, object);
  }
  if (clashes.length > 0) throw new Error(`Validation failed with the following errors:\n  ${clashes.join('\n  ')}`);
}

function outputFile(chart: Chart, object: ApiObject): string {
  const chartName = Names.toDnsLabel(chart);
  if (chart.node.id === NAMESPACES_CHART && chart.node.scope === chart.node.root) return join(SETUP_DIR, NAMESPACES_CHART);
  const config = ancestor(object, JobConfig.isJobConfig);
  if (!config) return chartName;
  const run = ancestor(object, JobRun.isJobRun);
  if (run) return join(chartName, config.name, 'runs', run.name);
  return isSetup(object) ? join(SETUP_DIR, chartName, config.name) : join(chartName, config.name, 'jobconfig');
}

/** The identity a JobConfig's tasks run as and its rights: applied before any run (SETUP_DIR). */
function isSetup(object: ApiObject): boolean {
  if (object.apiVersion === 'v1') return object.kind === 'ServiceAccount';
  return object.apiVersion.startsWith('rbac.authorization.k8s.io/') && (object.kind === 'Role' || object.kind === 'RoleBinding');
}

/** The nearest scope that `is` recognizes (a brand check: `instanceof` fails across two copies of taskplane). */
function ancestor<T extends IConstruct>(node: IConstruct, is: (x: unknown) => x is T): T | undefined {
  return node.node.scopes.find(is);
}

/**
 * Writes every file into a fresh directory, `check`s what was written (objects whose identity differs
 * from the declared one), then swaps it in place of `outdir`. On any error `outdir` is left as it was.
 */
function writeAtomically(outdir: string, files: Map<string, ApiObject[]>, extension: string, kustomization: string | undefined, check: (renamed: Map<ApiObject, string>) => void): void {
  const staging = `${outdir}.taskplane-staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const made = new Set<string>();
    const renamed = new Map<ApiObject, string>();
    for (const [file, objects] of files) {
      const documents = objects.map((object) => {
        const json = object.toJson();
        const written = identity(json);
        if (written !== declaredIdentity(object)) renamed.set(object, written);
        return json;
      });
      const path = join(staging, `${file}${extension}`);
      const dir = dirname(path);
      if (!made.has(dir)) mkdirSync(dir, { recursive: true });
      made.add(dir);
      writeFileSync(path, stringifyDocuments(documents));
    }
    check(renamed);
    mkdirSync(staging, { recursive: true });
    if (kustomization !== undefined && files.size > 0) writeFileSync(join(staging, 'Kustomization'), kustomization);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const previous = `${outdir}.taskplane-previous-${process.pid}`;
  rmSync(previous, { recursive: true, force: true });
  try {
    renameSync(outdir, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  renameSync(staging, outdir);
  rmSync(previous, { recursive: true, force: true });
}

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiObject, App, Chart, Names, type AppProps } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { TASKPLANE_APP } from './_validation.js';
import { stringifyDocuments } from './_yaml.js';
import { JobConfig } from './job-config.js';
import { JobRun } from './job-run.js';

export type TaskplaneAppProps = Omit<AppProps, 'yamlOutputType'>;

/**
 * A cdk8s App with the output layout taskplane recommends for GitOps, written atomically:
 *
 *     dist/<chart>.k8s.yaml                              objects outside any JobConfig (CRDs, watcher)
 *     dist/<chart>/<config>/jobconfig.k8s.yaml           the JobConfig
 *     dist/<chart>/<config>/runs/<run>.k8s.yaml          a JobRun and its rendered tasks
 *
 * Adding a JobConfig or a run adds files and never rewrites others. The whole app is validated once
 * (plain cdk8s validates it again for every chart), every error is reported at once, two objects with
 * the same kind, namespace and name are an error, and on error nothing is written: the output
 * directory keeps its previous content. Strings that YAML 1.1 and 1.2 readers would read differently
 * (`0o17`, `yes`, `1:20`, a `<<` key) are written quoted.
 */
export class TaskplaneApp extends App {
  /** Lets taskplane's constructs know their strings will be quoted. @internal */
  public readonly [TASKPLANE_APP] = true;

  public constructor(props: TaskplaneAppProps = {}) {
    super(props);
  }

  public override synth(): void {
    const nodes = this.node.findAll();
    const errors = nodes.flatMap((node) => node.node.validate().map((message) => `[${node.node.path}] ${message}`));
    if (errors.length > 0) throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);

    // One pre-order pass (each chart's own order) files every object. Only references are kept:
    // each file's documents are rendered, written and dropped in turn, so the memory peak is the
    // construct tree plus one file, not every document of the app at once.
    const files = new Map<string, ApiObject[]>();
    for (const node of nodes) {
      if (!(node instanceof ApiObject)) continue;
      const file = outputFile(Chart.of(node), node);
      const objects = files.get(file);
      if (objects) objects.push(node);
      else files.set(file, [node]);
    }
    const apiObjects = nodes.filter((node): node is ApiObject => node instanceof ApiObject);
    throwOnClashes(apiObjects, declaredIdentity);
    writeAtomically(this.outdir, files, this.outputFileExtension, (written) => {
      // A JSON patch can rename an object: then check again with what was really written.
      if (written.size > 0) throwOnClashes(apiObjects, (object) => written.get(object) ?? declaredIdentity(object));
    });
  }
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
      const fix = ancestor(object, JobRun) && ancestor(first, JobRun) ? 'give one of the runs another name' : 'define it once (e.g. one TaskplaneCrds per app) or give one of them another name';
      clashes.push(`[${object.node.path}] ${id} is also produced by ${first.node.path}; ${fix}`);
    } else firstByIdentity.set(id, object);
  }
  if (clashes.length > 0) throw new Error(`Validation failed with the following errors:\n  ${clashes.join('\n  ')}`);
}

function outputFile(chart: Chart, object: ApiObject): string {
  const chartName = Names.toDnsLabel(chart);
  const config = ancestor(object, JobConfig);
  if (!config) return chartName;
  const run = ancestor(object, JobRun);
  return run ? join(chartName, config.name, 'runs', run.name) : join(chartName, config.name, 'jobconfig');
}

function ancestor<T>(node: IConstruct, type: abstract new (...args: any[]) => T): T | undefined {
  return node.node.scopes.find((scope): scope is IConstruct & T => scope instanceof type);
}

/**
 * Writes every file into a fresh directory, `check`s what was written (objects whose identity differs
 * from the declared one), then swaps it in place of `outdir`. On any error `outdir` is left as it was.
 */
function writeAtomically(outdir: string, files: Map<string, ApiObject[]>, extension: string, check: (renamed: Map<ApiObject, string>) => void): void {
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

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiObject, App, Chart, Names, Yaml, type AppProps } from 'cdk8s';
import type { IConstruct } from 'constructs';
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
 * directory keeps its previous content.
 */
export class TaskplaneApp extends App {
  public constructor(props: TaskplaneAppProps = {}) {
    super(props);
  }

  public override synth(): void {
    const errors = this.node
      .findAll()
      .flatMap((node) => node.node.validate().map((message) => `[${node.node.path}] ${message}`));
    if (errors.length > 0) throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);

    const files = new Map<string, unknown[]>();
    const pathByIdentity = new Map<string, string>();
    const clashes: string[] = [];
    for (const chart of this.charts) {
      for (const node of chart.node.findAll()) {
        if (!(node instanceof ApiObject) || Chart.of(node) !== chart) continue;
        const json = node.toJson();
        // Task names are unique within a run; two runs (or two charts) can still produce the same object.
        const identity = `${json.apiVersion}/${json.kind} ${json.metadata?.namespace ?? ''}/${json.metadata?.name}`;
        const first = pathByIdentity.get(identity);
        if (first) clashes.push(`[${node.node.path}] ${identity} is also produced by ${first}; give one of the runs another name`);
        pathByIdentity.set(identity, node.node.path);
        const file = outputFile(chart, node);
        if (!files.has(file)) files.set(file, []);
        files.get(file)!.push(json);
      }
    }
    if (clashes.length > 0) throw new Error(`Validation failed with the following errors:\n  ${clashes.join('\n  ')}`);
    writeAtomically(this.outdir, files, this.outputFileExtension);
  }
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

/** Writes every file into a fresh directory, then swaps it in place of `outdir`. */
function writeAtomically(outdir: string, files: Map<string, unknown[]>, extension: string): void {
  const staging = `${outdir}.taskplane-staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const [file, documents] of files) {
    const path = join(staging, `${file}${extension}`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Yaml.stringify(...documents));
  }
  mkdirSync(staging, { recursive: true });
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

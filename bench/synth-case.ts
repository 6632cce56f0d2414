/**
 * One synth measurement, run in a fresh child process by bench/synth.ts (so RSS peaks and JIT warmup
 * never leak between cases):
 *
 *     node --import tsx bench/synth-case.ts <impl> <configs> <tasks> <outdir>
 *
 * impl: `taskplane` (TaskplaneApp, one chart, JobConfig + config.run), `cdk8s` (plain App, one chart
 * per JobConfig, FILE_PER_CHART), `cdk8s-files` (same, FOLDER_PER_CHART_FILE_PER_RESOURCE) or `yaml`
 * (yaml.stringify of the same objects into taskplane's layout, no cdk8s). The plain cases get their
 * objects from the engine before the clock starts. Prints one JSON line: times in ms (from after module
 * loading to the last file written) and the process's peak RSS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [impl, nArg, pArg, outdir] = process.argv.slice(2);
const configs = Number(nArg);
const tasks = Number(pArg);
if (!impl || !outdir || !(configs > 0) || !(tasks > 0)) {
  console.error('usage: synth-case.ts <taskplane|cdk8s|cdk8s-files|yaml> <configs> <tasks> <outdir>');
  process.exit(2);
}

interface Timing {
  /** Engine work done before the clock starts (plain cases only). */
  prepMs?: number;
  constructMs?: number;
  synthMs?: number;
  totalMs: number;
}

async function taskplane(): Promise<Timing> {
  const { Chart, Duration } = await import('cdk8s');
  const { JobConfig, TaskplaneApp, TaskTemplate } = await import('../constructs/index.js');
  const w = await import('./workload.js');
  const { Parallelism } = await import('../constructs/parallelism.js');
  const t0 = performance.now();
  const app = new TaskplaneApp({ outdir });
  const chart = new Chart(app, w.CHART, { namespace: w.NAMESPACE });
  for (let i = 0; i < configs; i++) {
    const config = new JobConfig(chart, w.configName(i), {
      task: TaskTemplate.pod({ spec: w.podSpec(i) }),
      parallelism: Parallelism.withCount(tasks),
      maxAttempts: w.MAX_ATTEMPTS,
      retryDelay: Duration.seconds(w.RETRY_DELAY_SECONDS),
      options: w.options,
    });
    config.run(w.RUN_ID, { options: w.runOptions });
  }
  const t1 = performance.now();
  app.synth();
  const t2 = performance.now();
  return { constructMs: t1 - t0, synthMs: t2 - t1, totalMs: t2 - t0 };
}

async function cdk8s(outputType: 'FILE_PER_CHART' | 'FOLDER_PER_CHART_FILE_PER_RESOURCE'): Promise<Timing> {
  const { ApiObject, App, Chart, YamlOutputType } = await import('cdk8s');
  const w = await import('./workload.js');
  const p0 = performance.now();
  const jobs = Array.from({ length: configs }, (_, i) => w.plainJob(i, tasks));
  const t0 = performance.now();
  // What a cdk8s user writes: a chart per job, an ApiObject per manifest.
  const app = new App({ outdir, yamlOutputType: YamlOutputType[outputType] });
  jobs.forEach((job, i) => {
    const chart = new Chart(app, w.configName(i), { namespace: w.NAMESPACE });
    new ApiObject(chart, 'config', job.config as never);
    new ApiObject(chart, 'run', job.run as never);
    for (const task of job.tasks) new ApiObject(chart, (task.metadata as { name: string }).name, task as never);
  });
  const t1 = performance.now();
  app.synth();
  const t2 = performance.now();
  return { prepMs: t0 - p0, constructMs: t1 - t0, synthMs: t2 - t1, totalMs: t2 - t0 };
}

async function yaml(): Promise<Timing> {
  const { stringify } = await import('yaml');
  const w = await import('./workload.js');
  const p0 = performance.now();
  const jobs = Array.from({ length: configs }, (_, i) => {
    const job = w.plainJob(i, tasks);
    return { config: w.canonical(job.config), documents: [job.run, ...job.tasks].map(w.canonical) };
  });
  const t0 = performance.now();
  // cdk8s's Yaml.stringify options, so the bytes match taskplane's output.
  const toYaml = (docs: unknown[]) => docs.map((d) => stringify(d, { keepUndefined: true, lineWidth: 0, version: '1.1' })).join('---\n');
  jobs.forEach((job, i) => {
    const dir = join(outdir, w.CHART, w.configName(i));
    mkdirSync(join(dir, 'runs'), { recursive: true });
    writeFileSync(join(dir, 'jobconfig.k8s.yaml'), toYaml([job.config]));
    writeFileSync(join(dir, 'runs', `${w.runName(i)}.k8s.yaml`), toYaml(job.documents));
  });
  const t1 = performance.now();
  return { prepMs: t0 - p0, totalMs: t1 - t0 };
}

const cases: Record<string, () => Promise<Timing>> = {
  taskplane,
  cdk8s: () => cdk8s('FILE_PER_CHART'),
  'cdk8s-files': () => cdk8s('FOLDER_PER_CHART_FILE_PER_RESOURCE'),
  yaml,
};
const run = cases[impl];
if (!run) {
  console.error(`unknown case ${impl}`);
  process.exit(2);
}
const timing = await run();
// maxRSS is in KiB on Linux.
const maxRssMB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ ...timing, maxRssMB })}\n`);

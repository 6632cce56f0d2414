/**
 * taskplane as a user gets it: the packed tarball installed into a cdk8s app made like
 * `cdk8s init typescript-app` (CommonJS, ts-node, the template's tsconfig) and into an ESM app run by
 * tsx. Each app type-checks with its own tsc (a wrong option value is a compile error) and
 * synthesizes with `cdk8s synth` and the app's own cdk8s.yaml. Needs the npm registry once (cached).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { sh, stockApp, type AppKind } from './stock-app.js';

const README_JOB = `import { Construct } from 'constructs';
import { App, Chart, ChartProps, Duration } from 'cdk8s';
import { BoolOptionFormat, JobConfig, Option, Parallelism, TaskTemplate } from 'taskplane';

export class MyChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = { }) {
    super(scope, id, props);
    const backup = new JobConfig(this, 'database-backup', {
      options: {
        database: Option.select({ values: ['orders', 'customers', 'billing'], default: 'orders' }),
        full: Option.bool({ default: false, format: BoolOptionFormat.custom('--full', '--incremental') }),
        snapshotAt: Option.date({ format: 'YYYYMMDD-HHmm', required: true }),
      },
      parallelism: Parallelism.withKeys(['eu', 'us']),
      maxAttempts: 3,
      retryDelay: Duration.minutes(5),
      taskTimeout: Duration.hours(2),
      task: TaskTemplate.pod({
        spec: {
          containers: [{
            name: 'pg-dump',
            image: 'registry.example.com/tools/pg-backup:16.4',
            args: ['\${option.full}', '--database=\${option.database}', '--at=\${option.snapshotAt}'],
            env: [{ name: 'BACKUP_ID', value: '\${job.name}-\${task.retry_index}' }],
          }],
        },
      }),
    });
    backup.run('2026-11-21-full', { options: { database: 'billing', full: true, snapshotAt: new Date('2026-11-21T02:00:00Z') } });
  }
}

const app = new App();
new MyChart(app, 'jobs', { namespace: 'batch' });
app.synth();
`;

/** The README's "compile error" promise: an option value outside the select's values. */
const TYPO = `import { App, Chart } from 'cdk8s';
import { JobConfig, Option, TaskTemplate } from 'taskplane';

const config = new JobConfig(new Chart(new App(), 'typo'), 'backup', {
  options: { database: Option.select({ values: ['orders', 'billing'], default: 'orders' }) },
  task: TaskTemplate.pod({ spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } }),
});
config.run('r1', { options: { database: 'staging' } });
`;

/** A JobConfig from a second installed copy of taskplane, filed by the first copy's TaskplaneApp. */
const TWO_COPIES = `import { Chart } from 'cdk8s';
import { JobConfig as FirstJobConfig, TaskplaneApp } from 'taskplane';
import { JobConfig, TaskTemplate } from 'taskplane-copy';

if (JobConfig === FirstJobConfig) throw new Error('taskplane-copy is the same module as taskplane: npm deduplicated it');
const app = new TaskplaneApp({ outdir: 'dist' });
const chart = new Chart(app, 'jobs', { namespace: 'batch' });
const config = new JobConfig(chart, 'nightly', { task: TaskTemplate.pod({ spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } }) });
config.run('r1', {});
console.log(JSON.stringify({ isJobConfig: FirstJobConfig.isJobConfig(config) }));
app.synth();
`;

const npx = (dir: string, args: string[]) => sh('npx', ['--no-install', ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe.each<AppKind>(['commonjs', 'esm'])('a stock %s cdk8s app with the packed taskplane', (kind) => {
  let dir: string;

  it('installs the tarball next to the template\'s own cdk8s, cdk8s-plus-33 and @types/node', { timeout: 600_000 }, async () => {
    const tarball = inject('tarball');
    dir = await stockApp(kind, { taskplane: tarball, 'taskplane-copy': tarball });
    const installed = JSON.parse(await readFile(path.join(dir, 'node_modules/taskplane/package.json'), 'utf8')) as { name: string };
    expect(installed.name).toBe('taskplane');
    // One cdk8s and one constructs: taskplane's are peers, so npm nests no second copy.
    const nested = await sh('npm', ['ls', 'cdk8s', 'constructs', '--all', '--parseable'], { cwd: dir });
    const copies = nested.stdout.split('\n').filter((line) => /node_modules\/(cdk8s|constructs)$/.test(line));
    expect(copies.map((line) => path.relative(dir, line)).sort()).toEqual(['node_modules/cdk8s', 'node_modules/constructs']);
  });

  it('type-checks with the app\'s tsc, and a wrong option value is a compile error', { timeout: 600_000 }, async () => {
    await writeFile(path.join(dir, 'main.ts'), README_JOB);
    await writeFile(path.join(dir, 'typo.ts'), TYPO);
    const tsc = await npx(dir, ['tsc', '--noEmit', '-p', '.']);
    const errors = tsc.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    // Exactly one error, in typo.ts, about the value; main.ts and taskplane's declarations are clean.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^typo\.ts\(8,\d+\): error TS2322: Type '"staging"' is not assignable to type '"orders" \| "billing"( \| undefined)?'\.$/);
  });

  it('synthesizes the README\'s job with `cdk8s synth` and the template\'s cdk8s.yaml', { timeout: 600_000 }, async () => {
    await rm(path.join(dir, 'typo.ts'));
    const synth = await npx(dir, ['cdk8s', 'synth', '--no-check-upgrade']);
    expect(synth.stderr + synth.stdout).not.toMatch(/error/i);
    expect(synth.code).toBe(0);
    expect(await filesUnder(path.join(dir, 'dist'))).toEqual(['jobs.k8s.yaml']);
    const objects = parseAllDocuments(await readFile(path.join(dir, 'dist/jobs.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'JobConfig batch/database-backup',
      'JobRun batch/database-backup-2026-11-21-full',
      'Pod batch/database-backup-2026-11-21-full-eu-0',
      'Pod batch/database-backup-2026-11-21-full-us-0',
    ]);
    const pod = objects[2];
    expect(pod.spec.containers[0].args).toEqual(['--full', '--database=billing', '--at=20261121-0200']);
    expect(pod.spec.containers[0].env).toEqual([{ name: 'BACKUP_ID', value: 'database-backup-2026-11-21-full-0' }]);
  });

  it('files a JobConfig from a second installed copy of taskplane where the first copy would', { timeout: 600_000 }, async () => {
    await writeFile(path.join(dir, 'two-copies.ts'), TWO_COPIES);
    const runner = kind === 'commonjs' ? ['ts-node', 'two-copies.ts'] : ['tsx', 'two-copies.ts'];
    const result = await npx(dir, runner);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ isJobConfig: true });
    expect(await filesUnder(path.join(dir, 'dist'))).toEqual(['00-setup/00-namespaces.k8s.yaml', 'Kustomization', 'jobs/nightly/jobconfig.k8s.yaml', 'jobs/nightly/runs/nightly-r1.k8s.yaml']);
  });
});

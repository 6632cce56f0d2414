/**
 * CLI start-up: the compiled `taskplane` (lib/, what the package runs) against bare Node start-up
 * (`node -e 0`) in the same run, each repetition running every case back to back; the ratio is the
 * median of the repetitions' ratios. The source checkout's path (tsx) is shown for comparison.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, REPO_ROOT } from './util.js';

export interface StartupCase {
  readonly name: string;
  readonly medianMs: number;
  /** Median of per-repetition ratios against `node -e 0`. */
  readonly ratio: number;
}

export interface StartupResult {
  readonly reps: number;
  readonly baselineMs: number;
  readonly cases: readonly StartupCase[];
}

const BIN = join(REPO_ROOT, 'bin/taskplane.mjs');
const COMPILED = { TASKPLANE_COMPILED: '1' };

function cases(jobConfigFile: string): Record<string, { args: string[]; env?: Record<string, string> }> {
  return {
    'node -e 0': { args: ['-e', '0'] },
    'taskplane --help': { args: [BIN, '--help'], env: COMPILED },
    'taskplane --version': { args: [BIN, '--version'], env: COMPILED },
    'taskplane render -f (the engine, no cluster)': { args: [BIN, 'render', 'nightly', '-f', jobConfigFile, '--name', 'r1'], env: COMPILED },
    'taskplane --help from sources (tsx)': { args: [BIN, '--help'] },
  };
}

function timeOnce(args: readonly string[], env: Record<string, string> = {}): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

export function runStartupBench(options: { reps: number; log: (line: string) => void }): StartupResult {
  options.log('building lib/ (npm run build) for the compiled CLI');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const out = mkdtempSync(join(tmpdir(), 'taskplane-bench-startup-'));
  try {
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'test/fixtures/synth-app/main.ts')], { env: { ...process.env, CDK8S_OUTDIR: out } });
    return measure(cases(join(out, 'jobs/nightly/jobconfig.k8s.yaml')), options.reps);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function measure(CASES: ReturnType<typeof cases>, reps: number): StartupResult {
  const samples = new Map<string, number[]>(Object.keys(CASES).map((name) => [name, []]));
  const ratios = new Map<string, number[]>(Object.keys(CASES).map((name) => [name, []]));
  for (const c of Object.values(CASES)) timeOnce(c.args, c.env); // warm the file cache
  for (let rep = 0; rep < reps; rep++) {
    const times = Object.fromEntries(Object.entries(CASES).map(([name, c]) => [name, timeOnce(c.args, c.env)]));
    for (const [name, ms] of Object.entries(times)) {
      samples.get(name)!.push(ms);
      ratios.get(name)!.push(ms / times['node -e 0']!);
    }
  }
  const cases = Object.keys(CASES).map((name) => ({ name, medianMs: median(samples.get(name)!), ratio: median(ratios.get(name)!) }));
  return { reps, baselineMs: cases[0]!.medianMs, cases };
}
